package jetstream

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/jetstream/natstest"
)

// BenchmarkView_MemoryPerJob measures what the view holds per stored job:
// b.N events of one job each, half of them done, as a new process loads
// them at start. Reported as bytes/job of live heap.
func BenchmarkView_MemoryPerJob(b *testing.B) {
	srv := natstest.Run(b, natstest.Options{})
	o := Options{URLs: []string{srv.URL()}, Prefix: "mem", Logger: quietLogger(), DedupeWindow: time.Hour}
	q, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 2000)
	for i := range n {
		ev := &engine.Event{Name: "x", Source: "s", DeliveryID: "d" + string(rune('a'+i%26)) + itoa(i),
			ReceivedAt: time.Now(), Payload: []byte(`{"n":1}`)}
		if _, err := q.Enqueue(context.Background(), ev, []engine.NewJob{{Listener: "a", MaxTries: 3}}); err != nil {
			b.Fatal(err)
		}
	}
	for done := 0; done < n/2; {
		ls, err := q.Lease(context.Background(), 256, map[string]engine.Quota{"a": {Max: 256, LeaseFor: time.Minute}})
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range ls {
			if err := q.Finish(context.Background(), engine.Result{JobID: l.Job.ID, Attempt: l.Job.Attempt, Outcome: engine.Succeeded}); err != nil {
				b.Fatal(err)
			}
			done++
		}
	}
	q.Close(context.Background())
	q.view, q.evCache.m = nil, nil // what the first process held must not count
	b.ResetTimer()
	before := heap()
	q2, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	after := heap()
	b.StopTimer()
	b.ReportMetric(float64(after-before)/float64(n), "bytes/job")
	runtime.KeepAlive(q2.view)
	q2.Close(context.Background())
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func itoa(i int) string {
	const d = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{d[i%10]}, b...)
	}
	return string(b)
}
