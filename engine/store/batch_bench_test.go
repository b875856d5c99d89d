package store

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var batchPayload = append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 1024-10)...), `"}`...)

// openBenchQueue opens a queue whose background batches do not wait for
// ingest company, so a benchmark measures the work, not the wait.
func openBenchQueue(b *testing.B) *Queue {
	b.Helper()
	q, err := Open(Options{Path: filepath.Join(b.TempDir(), "queue.db"), noHold: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close(context.Background()) })
	return q
}

// BenchmarkCommitBatch measures one group commit of N enqueues (1 KiB
// event, one job each): the committer's cost per batch, fsync included.
func BenchmarkCommitBatch(b *testing.B) {
	for _, n := range []int{1, 64, 512} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			q := openBenchQueue(b)
			ctx := context.Background()
			batch := make([]*request, n)
			for b.Loop() {
				for i := range batch {
					ev := &engine.Event{Name: "e", Source: "s", Payload: batchPayload, ReceivedAt: time.Now()}
					r, _, err := q.enqueueRequest(ctx, ev, []engine.NewJob{{Listener: "a"}})
					if err != nil {
						b.Fatal(err)
					}
					batch[i] = r
				}
				q.commit(batch)
				for _, r := range batch {
					if err := <-r.done; err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}

// BenchmarkLeaseBatch measures one Lease call claiming N due jobs (one
// commit), the worker side's cost per batch.
func BenchmarkLeaseBatch(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			q := openBenchQueue(b)
			ctx := context.Background()
			quota := map[string]engine.Quota{"a": {Max: n, LeaseFor: time.Hour}}
			fill := func() {
				for range n {
					ev := &engine.Event{Name: "e", Source: "s", Payload: batchPayload}
					if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a"}}); err != nil {
						b.Fatal(err)
					}
				}
			}
			for b.Loop() {
				b.StopTimer()
				fill()
				b.StartTimer()
				ls, err := q.Lease(ctx, n, quota)
				if err != nil || len(ls) != n {
					b.Fatalf("Lease = %d, %v", len(ls), err)
				}
			}
		})
	}
}
