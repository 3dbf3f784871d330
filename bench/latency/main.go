// latency-client: an open-loop, low-jitter load client for `npm run bench:latency`.
//
// Records are due at start + i/rate (absolute schedule); every latency counts from the time a
// record was due, not from when it was actually sent, so a stalled client or broker shows up
// in the figures instead of slowing the schedule down (no coordinated omission).
//
//	kafka mode: produce 1 KiB records with acks=all round-robin over a fresh topic's partitions
//	            (and over --producers clients, each with its own connection) and consume them
//	            in the same process; publish = due -> ack, e2e = due -> consumed.
//	max mode:   the same, at a rate that rises while produce and consume keep up and is then
//	            narrowed down by bisection; reports the highest rate kept up (see findMax).
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
	Producers   int      `json:"producers,omitempty"`
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

	// max mode: the highest rate kept up, whether it held for --hold, and every step tried
	// while searching and then holding: [rate, 1 if kept up]
	MaxRate float64      `json:"maxRate,omitempty"`
	Held    bool         `json:"held,omitempty"`
	Steps   [][2]float64 `json:"steps,omitempty"`
	Holds   [][2]float64 `json:"holds,omitempty"`
}

func main() {
	mode := flag.String("mode", "kafka", "kafka (open loop), max (the highest rate kept up; --rate is where it starts) or echo")
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap server (kafka) or host:port of the echo server")
	topic := flag.String("topic", "latency", "topic to create and use")
	partitions := flag.Int("partitions", 16, "partitions of the topic")
	rate := flag.Int("rate", 1000, "records per second, scheduled by absolute time")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 2*time.Second, "records due in this first stretch are not counted")
	size := flag.Int("size", 1024, "record value size in bytes (at least 8)")
	producers := flag.Int("producers", 1, "producer clients, each with its own connection; record i goes to producer i % N")
	hold := flag.Duration("hold", 15*time.Second, "max mode: how long the rate found must hold")
	flag.Parse()
	if *size < 8 || *rate <= 0 || *producers < 1 || *partitions < 1 || *warmup >= *duration {
		fmt.Fprintln(os.Stderr, "--size must be at least 8, --rate, --producers and --partitions positive, --warmup less than --duration")
		os.Exit(2)
	}
	// Fewer, larger collections: the garbage is small and the pauses are what we measure.
	debug.SetGCPercent(400)
	r := result{Client: "franz-go", Mode: *mode, Rate: *rate, Size: *size, DurationMs: duration.Milliseconds(), WarmupMs: warmup.Milliseconds()}
	var err error
	o := kafkaOpts{brokers: *brokers, topic: *topic, partitions: *partitions, rate: *rate, producers: *producers,
		hold: *hold, duration: *duration, warmup: *warmup, size: *size}
	switch *mode {
	case "echo":
		err = runEcho(&r, *brokers, *rate, *duration, *warmup, *size)
	case "kafka", "max":
		r.Partitions, r.Producers = *partitions, *producers
		err = runKafka(&r, o, *mode == "max")
	default:
		err = fmt.Errorf("unknown --mode %q: kafka, max or echo", *mode)
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

// kafkaOpts are the kafka and max modes' settings.
type kafkaOpts struct {
	brokers, topic   string
	partitions, rate int
	producers        int
	hold             time.Duration
	duration, warmup time.Duration
	size             int
}

// setupKafka creates the topic, connects the producers and the consumer and writes records
// to every partition (and from every producer), so leaders, metadata, connections and log
// files are all in place before the clock starts.
func setupKafka(o kafkaOpts) (prods []*kgo.Client, cons *kgo.Client, err error) {
	ctx := context.Background()
	adm, err := kgo.NewClient(kgo.SeedBrokers(o.brokers))
	if err != nil {
		return nil, nil, err
	}
	ac := kadm.NewClient(adm)
	// Kafka takes several seconds to create 1,000 partitions.
	ac.SetTimeoutMillis(60_000)
	// A broker just started may refuse connections or answer before it has a controller:
	// retry for up to a minute.
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		resp, cerr := ac.CreateTopic(cctx, int32(o.partitions), 1, nil, o.topic)
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
		return nil, nil, fmt.Errorf("create topic: %w", err)
	}
	closeAll := func() {
		for _, p := range prods {
			p.Close()
		}
		if cons != nil {
			cons.Close()
		}
	}

	for k := 0; k < o.producers; k++ {
		p, err := kgo.NewClient(
			kgo.SeedBrokers(o.brokers),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(0),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.MaxBufferedRecords(1_000_000),
			kgo.ProducerBatchCompression(kgo.NoCompression()),
		)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		prods = append(prods, p)
	}
	cons, err = kgo.NewClient(
		kgo.SeedBrokers(o.brokers),
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	// Every client connected before the clock starts.
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	err = cons.Ping(wctx)
	for _, p := range prods {
		if err == nil {
			err = p.Ping(wctx)
		}
	}
	wcancel()
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("connect: %w", err)
	}

	// Warm-up records carry a key, which the measured ones never do, and 8 KiB: more than
	// Kafka's log.index.interval.bytes, so that the second round makes Kafka create every
	// partition's index files, which with 1,000 partitions stalls it for seconds once; not
	// what the case measures. Rounds go out all at once (1,000 partitions one fsync at a
	// time would take long) and repeat until one takes under a second, as partitions just
	// created may not have their leaders yet.
	wstart := time.Now()
	for round := 0; ; round++ {
		t0 := time.Now()
		pctx, pcancel := context.WithTimeout(ctx, 120*time.Second)
		var wg sync.WaitGroup
		var werr atomic.Value
		for j := 0; j < max(o.partitions, o.producers); j++ {
			wg.Add(1)
			rec := &kgo.Record{Topic: o.topic, Partition: int32(j % o.partitions), Key: []byte("warm"), Value: make([]byte, 8192)}
			prods[j%o.producers].Produce(pctx, rec, func(_ *kgo.Record, err error) {
				if err != nil {
					werr.CompareAndSwap(nil, err)
				}
				wg.Done()
			})
		}
		wg.Wait()
		pcancel()
		if e, _ := werr.Load().(error); e != nil {
			closeAll()
			return nil, nil, fmt.Errorf("warm-up produce: %w", e)
		}
		if round >= 1 && (time.Since(t0) < time.Second || time.Since(wstart) > 120*time.Second) {
			break
		}
	}
	return prods, cons, nil
}

// runKafka sends on the open-loop schedule, at a fixed rate or (max mode) searching for the
// highest one the broker keeps up with, consuming in the same process.
func runKafka(r *result, o kafkaOpts, searchMax bool) error {
	ctx := context.Background()
	prods, cons, err := setupKafka(o)
	if err != nil {
		return err
	}
	defer func() {
		for _, p := range prods {
			p.Close()
		}
		cons.Close()
	}()

	pub, e2e := newHist(), newHist()
	var acked, failed, received atomic.Int64
	start := time.Now()
	warm := o.warmup

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
				if len(rec.Key) > 0 { // warm-up
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

	produce := func(i int64, due time.Duration) {
		v := make([]byte, o.size)
		binary.BigEndian.PutUint64(v, uint64(due))
		rec := &kgo.Record{Topic: o.topic, Partition: int32(i % int64(o.partitions)), Value: v}
		prods[i%int64(len(prods))].Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				return
			}
			now := time.Since(start)
			if due >= warm {
				pub.record(now - due)
			}
			acked.Add(1)
		})
	}
	var sent int64
	if searchMax {
		sent = findMax(start, o, r, func() int64 { return received.Load() + failed.Load() }, produce)
	} else {
		sent = schedule(start, o.rate, o.duration, warm, r, produce)
	}
	// A broker far behind (Kafka fsyncing 1,000 partitions one by one) needs minutes to catch up.
	fctx, fcancel := context.WithTimeout(ctx, 180*time.Second)
	for _, p := range prods {
		_ = p.Flush(fctx)
	}
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

// findMax looks for the highest rate this client sustains, as the OpenMessaging Benchmark's
// findMaximumSustainableRate does, rather than running closed loop: a closed loop keeps
// thousands of records in flight and so sends batches far larger than an open loop does at
// the same rate, and reaches rates (twice as high, here) at which the open-loop cases never
// keep up.
//
// The rate starts at o.rate and rises by half every two seconds while the client keeps up:
// over the second half of the step, the records due but not yet consumed grow by less than
// a tenth of those that came due, and stay under a second's worth. A growing backlog is a
// rate not sustained, however short the step; its size alone would count a slow broker
// (Kafka flushing every message) as one falling behind. A step that falls behind while
// rising is tried once more, as a pause of this shared machine can fail it; past that, the
// backlog is drained and the range bisected with three-second steps down to 3%.
//
// Short steps flatter: the page cache takes the first gigabytes at memory speed and
// write-back throttles only later. So the rate found must then hold for o.hold (a case's
// length) by the same test, and comes down by 20% until it does, or until o.duration.
// Returns the records sent; r.MaxRate is the highest rate kept up, r.Held whether it held.
func findMax(start time.Time, o kafkaOpts, r *result, done func() int64, send func(i int64, due time.Duration)) int64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const most, growth = 1.0, 0.1 // a second's worth of records; a share of those due
	rate, lo, hi := float64(o.rate), 0.0, 0.0
	retried, holding := false, false
	var i, first int64 // due(i) = base + (i - first) / rate
	base := time.Since(start)
	behind := func(t time.Duration) int64 { return first + int64((t-base).Seconds()*rate) - done() }
	end := base + 2*time.Second
	mid, atMid := base+time.Second, int64(-1)
	for time.Since(start) < o.duration {
		now := time.Since(start)
		if atMid < 0 && now >= mid {
			atMid = behind(now)
		}
		if now < end {
			due := base + time.Duration(float64(i-first)/rate*float64(time.Second))
			if due > now {
				wake := min(due, end)
				if atMid < 0 {
					wake = min(wake, mid)
				}
				sleep(wake - now)
				continue
			}
			send(i, due)
			i++
			continue
		}
		atEnd := behind(now)
		kept := float64(atEnd) <= rate*most && float64(atEnd-atMid) <= rate*(end-mid).Seconds()*growth
		ok := 0.0
		if kept {
			ok = 1
		}
		step := 3 * time.Second
		if holding {
			r.Holds = append(r.Holds, [2]float64{math.Round(rate), ok})
			if kept {
				r.MaxRate, r.Held = math.Round(rate), true
				return i
			}
			rate, lo, step = rate*0.8, rate*0.8, o.hold
		} else {
			r.Steps = append(r.Steps, [2]float64{math.Round(rate), ok})
			retry := !kept && hi == 0 && !retried
			switch {
			case kept:
				lo = rate
			case retry:
				retried = true
			default:
				hi = rate
			}
			switch {
			case retry:
				step = 2 * time.Second
			case hi == 0:
				rate, step = rate*1.5, 2*time.Second
			case lo == 0:
				rate = hi / 2
			case hi/lo < 1.03:
				holding, rate, step = true, lo, o.hold
			default:
				rate = (lo + hi) / 2
			}
		}
		if !kept { // start the next step from an empty pipeline
			for t := time.Now(); done() < i && time.Since(t) < 10*time.Second; {
				time.Sleep(time.Millisecond)
			}
		}
		first, base = i, time.Since(start)
		end, mid, atMid = base+step, base+step/2, -1
	}
	r.MaxRate = math.Round(lo)
	return i
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
