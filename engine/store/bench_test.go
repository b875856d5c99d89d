package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

var benchPayload = append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 1024-10)...), `"}`...)

func BenchmarkEnqueue_Serial(b *testing.B) {
	q := openQueue(b, store.Options{})
	ctx := context.Background()
	jobs := []engine.NewJob{{Listener: "a"}}
	for b.Loop() {
		ev := &engine.Event{Name: "e", Source: "s", Payload: benchPayload}
		if _, err := q.Enqueue(ctx, ev, jobs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnqueue_Parallel(b *testing.B) {
	q := openQueue(b, store.Options{})
	ctx := context.Background()
	jobs := []engine.NewJob{{Listener: "a"}}
	b.SetParallelism(32) // many concurrent requests, as under HTTP load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ev := &engine.Event{Name: "e", Source: "s", Payload: benchPayload}
			if _, err := q.Enqueue(ctx, ev, jobs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLeaseFinish measures one lease plus one finish of one job (two
// commits), the worker-side cost per job.
func BenchmarkLeaseFinish(b *testing.B) {
	q := openQueue(b, store.Options{})
	ctx := context.Background()
	quota := map[string]engine.Quota{"a": {Max: 1, LeaseFor: time.Minute}}
	jobs := []engine.NewJob{{Listener: "a"}}
	for range b.N {
		ev := &engine.Event{Name: "e", Source: "s", Payload: benchPayload}
		if _, err := q.Enqueue(ctx, ev, jobs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		ls, err := q.Lease(ctx, 1, quota)
		if err != nil || len(ls) != 1 {
			b.Fatalf("Lease = %d, %v", len(ls), err)
		}
		if err := q.Finish(ctx, engine.Result{JobID: ls[0].Job.ID, Attempt: 1, Outcome: engine.Succeeded}); err != nil {
			b.Fatal(err)
		}
	}
}
