// A share group member (KIP-932) with franz-go's share consumer, for
// test/interop/share-groups-go.test.ts.
//
//	go build -o OUT . && OUT BOOTSTRAP TOPIC GROUP
//
// Acknowledges every record it prints (AckAccept) and flushes the acknowledgements after
// each poll; leaves the group and exits once stdin ends. Prints one JSON object per line:
// {"ev":"rec","o":12,"v":"tok|12","d":1} (offset, value, delivery count),
// {"ev":"error","msg":"..."}, {"ev":"closed"}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var outMu sync.Mutex

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	fmt.Println(string(b))
	outMu.Unlock()
}

func main() {
	bootstrap, topic, group := os.Args[1], os.Args[2], os.Args[3]
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ConsumeTopics(topic),
		kgo.ShareGroup(group),
		kgo.ClientID("share-go"),
	)
	if err != nil {
		emit(map[string]any{"ev": "error", "msg": err.Error()})
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, 500)
		fetches.EachError(func(t string, p int32, err error) {
			if ctx.Err() == nil {
				emit(map[string]any{"ev": "error", "msg": fmt.Sprintf("%s[%d]: %v", t, p, err)})
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			emit(map[string]any{"ev": "rec", "o": r.Offset, "v": string(r.Value), "d": r.DeliveryCount()})
			r.Ack(kgo.AckAccept)
		})
		fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := cl.FlushAcks(fctx); err != nil {
			emit(map[string]any{"ev": "error", "msg": "flush: " + err.Error()})
		}
		fcancel()
	}
	cl.Close()
	emit(map[string]any{"ev": "closed"})
}
