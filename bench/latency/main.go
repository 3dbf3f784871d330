// latency-client: an open-loop, low-jitter load client for `npm run bench:latency`.
//
// Records are due at start + i/rate (absolute schedule); every latency counts from the time a
// record was due, not from when it was actually sent, so a stalled client or broker shows up
// in the figures instead of slowing the schedule down (no coordinated omission).
//
//	kafka mode: produce 1 KiB records with acks=all round-robin over a fresh topic's partitions
//	            and consume them in the same process; publish = due -> ack, e2e = due -> consumed.
//	echo mode:  send length-prefixed requests on one TCP connection to an echo server and
//	            time due -> reply (the floor: what the loopback and a bare Node server cost).
//
// Prints one JSON line on stdout.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// hist is an HDR histogram of microseconds, safe for concurrent recording.
type hist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newHist() *hist { return &hist{h: hdrhistogram.New(1, 120_000_000, 3)} }

func (h *hist) record(d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	h.mu.Lock()
	_ = h.h.RecordValue(us)
	h.mu.Unlock()
}

type summary struct {
	Count int64        `json:"count"`
	P50   float64      `json:"p50"`
	P90   float64      `json:"p90"`
	P99   float64      `json:"p99"`
	P999  float64      `json:"p999"`
	P9999 float64      `json:"p9999"`
	Max   float64      `json:"max"`
	Dist  [][2]float64 `json:"dist"` // [percentile, ms], percentiles spaced evenly on 1/(1-p)
}

func (h *hist) summary() summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := func(p float64) float64 { return float64(h.h.ValueAtQuantile(p)) / 1000 }
	s := summary{Count: h.h.TotalCount(), P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), P9999: ms(99.99), Max: float64(h.h.Max()) / 1000}
	// Ten points per decade of 1/(1-p), up to where the count still resolves the percentile.
	for k := 0; ; k++ {
		x := math.Pow(10, float64(k)/10)
		if x > float64(s.Count) || k > 70 {
			break
		}
		p := 100 * (1 - 1/x)
		v := ms(p)
		if k == 0 {
			v = float64(h.h.Min()) / 1000
		}
		s.Dist = append(s.Dist, [2]float64{p, v})
	}
	s.Dist = append(s.Dist, [2]float64{100, s.Max})
	return s
}

type result struct {
	Client      string   `json:"client"`
	Mode        string   `json:"mode"`
	Rate        int      `json:"rate"`
	Partitions  int      `json:"partitions,omitempty"`
	Size        int      `json:"size"`
	DurationMs  int64    `json:"durationMs"`
	WarmupMs    int64    `json:"warmupMs"`
	Sent        int64    `json:"sent"`
	Acked       int64    `json:"acked"`
	Failed      int64    `json:"failed"`
	Received    int64    `json:"received"`
	MaxBehindMs float64  `json:"maxBehindMs"` // how late the sender ever was against its schedule
	SendDelay   *summary `json:"sendDelay"`   // due -> handed to the client library (timer wake-up, client pauses)
	Publish     *summary `json:"publish,omitempty"`
	E2E         *summary `json:"e2e,omitempty"`
	RoundTrip   *summary `json:"roundTrip,omitempty"`
	Error       string   `json:"error,omitempty"`
}

func main() {
	mode := flag.String("mode", "kafka", "kafka or echo")
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap server (kafka) or host:port of the echo server")
	topic := flag.String("topic", "latency", "topic to create and use")
	partitions := flag.Int("partitions", 16, "partitions of the topic")
	rate := flag.Int("rate", 1000, "records per second, scheduled by absolute time")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 2*time.Second, "records due in this first stretch are not counted")
	size := flag.Int("size", 1024, "record value size in bytes (at least 8)")
	flag.Parse()
	if *size < 8 || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "--size must be at least 8 and --rate positive")
		os.Exit(2)
	}
	// Fewer, larger collections: the garbage is small and the pauses are what we measure.
	debug.SetGCPercent(400)
	r := result{Client: "franz-go", Mode: *mode, Rate: *rate, Size: *size, DurationMs: duration.Milliseconds(), WarmupMs: warmup.Milliseconds()}
	var err error
	if *mode == "echo" {
		err = runEcho(&r, *brokers, *rate, *duration, *warmup, *size)
	} else {
		r.Partitions = *partitions
		err = runKafka(&r, *brokers, *topic, *partitions, *rate, *duration, *warmup, *size)
	}
	if err != nil {
		r.Error = err.Error()
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
}

// sleep waits d on this goroutine's own OS thread with nanosleep: Go's time.Sleep parks on the
// runtime's poller, whose wake-ups come up to a millisecond late, which would count as latency.
func sleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// schedule calls send(i, due) for every record due by now, sleeping until the next one is due.
func schedule(start time.Time, rate int, duration, warmup time.Duration, r *result, send func(i int64, due time.Duration)) int64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	late := newHist()
	defer func() { s := late.summary(); r.SendDelay = &s }()
	period := float64(time.Second) / float64(rate)
	total := int64(duration.Seconds() * float64(rate))
	var i int64
	for i < total {
		now := time.Since(start)
		due := time.Duration(float64(i) * period)
		if due > now {
			sleep(due - now)
			continue
		}
		if l := float64(now-due) / 1e6; l > r.MaxBehindMs {
			r.MaxBehindMs = l
		}
		for ; i < total; i++ {
			due = time.Duration(float64(i) * period)
			if due > now {
				break
			}
			send(i, due)
			if due >= warmup {
				late.record(time.Since(start) - due)
			}
		}
	}
	return total
}

func runKafka(r *result, brokers, topic string, partitions, rate int, duration, warmup time.Duration, size int) error {
	ctx := context.Background()
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		return err
	}
	ac := kadm.NewClient(adm)
	// A broker just started may refuse connections or answer before it has a controller:
	// retry for up to a minute.
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, cerr := ac.CreateTopic(cctx, int32(partitions), 1, nil, topic)
		cancel()
		if cerr == nil {
			cerr = resp.Err
		}
		if err = cerr; err == nil || errors.Is(err, kerr.TopicAlreadyExists) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		err = nil
	}
	adm.Close()
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}

	prod, err := kgo.NewClient(
		kgo.SeedBrokers(brokers),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedRecords(1_000_000),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		return err
	}
	defer prod.Close()
	cons, err := kgo.NewClient(
		kgo.SeedBrokers(brokers),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer cons.Close()
	// Both clients connected and the topic's leaders known before the clock starts.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = prod.Ping(wctx)
	if err == nil {
		err = cons.Ping(wctx)
	}
	wcancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	// One record to every partition first, so leaders and metadata are known and the
	// connections warm before the clock starts; the consumer skips these short values.
	pctx, pcancel := context.WithTimeout(ctx, 60*time.Second)
	for p := 0; p < partitions; p++ {
		if err = prod.ProduceSync(pctx, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("warm")}).FirstErr(); err != nil {
			break
		}
	}
	pcancel()
	if err != nil {
		return fmt.Errorf("first produce: %w", err)
	}

	pub, e2e := newHist(), newHist()
	var acked, failed, received atomic.Int64
	start := time.Now()
	warm := warmup

	done := make(chan struct{})
	cctx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	go func() {
		defer close(done)
		for {
			fs := cons.PollFetches(cctx)
			if cctx.Err() != nil {
				return
			}
			now := time.Since(start)
			fs.EachRecord(func(rec *kgo.Record) {
				if len(rec.Value) < 8 {
					return
				}
				due := time.Duration(binary.BigEndian.Uint64(rec.Value))
				if due >= warm {
					e2e.record(now - due)
				}
				received.Add(1)
			})
			if fs.IsClientClosed() {
				return
			}
		}
	}()

	sent := schedule(start, rate, duration, warm, r, func(i int64, due time.Duration) {
		v := make([]byte, size)
		binary.BigEndian.PutUint64(v, uint64(due))
		rec := &kgo.Record{Topic: topic, Partition: int32(i % int64(partitions)), Value: v}
		prod.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				return
			}
			if due >= warm {
				pub.record(time.Since(start) - due)
			}
			acked.Add(1)
		})
	})
	fctx, fcancel := context.WithTimeout(ctx, 60*time.Second)
	_ = prod.Flush(fctx)
	fcancel()
	// Every acknowledged record should arrive; give up 15 s after the last one did.
	for last, seen := time.Now(), received.Load(); received.Load() < acked.Load() && time.Since(last) < 15*time.Second; {
		time.Sleep(5 * time.Millisecond)
		if n := received.Load(); n != seen {
			last, seen = time.Now(), n
		}
	}
	stopConsuming()
	<-done
	r.Sent, r.Acked, r.Failed, r.Received = sent, acked.Load(), failed.Load(), received.Load()
	ps, es := pub.summary(), e2e.summary()
	r.Publish, r.E2E = &ps, &es
	if r.Received < r.Acked {
		return fmt.Errorf("consumed %d of %d acknowledged records", r.Received, r.Acked)
	}
	return nil
}

// runEcho: frames of 4-byte big-endian length + body; the server answers each with 8 bytes.
func runEcho(r *result, addr string, rate int, duration, warmup time.Duration, size int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetNoDelay(true)
	rt := newHist()
	// Replies come back in order, so a FIFO of due times pairs them with requests.
	dues := make(chan time.Duration, 1<<20)
	var got atomic.Int64
	start := time.Now()
	done := make(chan error, 1)
	total := int64(duration.Seconds() * float64(rate))
	go func() {
		buf := make([]byte, 8)
		for n := int64(0); n < total; n++ {
			if _, err := io.ReadFull(conn, buf); err != nil {
				done <- err
				return
			}
			now := time.Since(start)
			due := <-dues
			if due >= warmup {
				rt.record(now - due)
			}
			got.Add(1)
		}
		done <- nil
	}()
	frame := make([]byte, 4+size)
	binary.BigEndian.PutUint32(frame, uint32(size))
	var werr error
	sent := schedule(start, rate, duration, warmup, r, func(i int64, due time.Duration) {
		if werr != nil {
			return
		}
		dues <- due
		_, werr = conn.Write(frame)
	})
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		err = fmt.Errorf("echo replies stopped")
	}
	if err == nil {
		err = werr
	}
	r.Sent, r.Acked, r.Received = sent, got.Load(), got.Load()
	s := rt.summary()
	r.RoundTrip = &s
	return err
}
