package jetstream

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/jetstream/natstest"
	"github.com/switchboard/switchboard/engine/queuetest"
)

// TestConformance runs the queue conformance suite against a current
// JetStream server started in this process.
func TestConformance(t *testing.T) {
	t.Parallel()
	srv := natstest.Run(t, natstest.Options{})
	queuetest.Run(t, &harness{url: srv.URL()})
}

// TestConformance_SystemServer runs the suite against the server at
// SWITCHBOARD_TEST_NATS_URL (this machine's NATS 2.9), each test under a
// prefix of its own whose streams are deleted afterwards.
func TestConformance_SystemServer(t *testing.T) {
	t.Parallel()
	url := os.Getenv("SWITCHBOARD_TEST_NATS_URL")
	if url == "" {
		t.Skip("SWITCHBOARD_TEST_NATS_URL is not set (e.g. nats://127.0.0.1:4222): skipping the suite against an external NATS server")
	}
	queuetest.Run(t, &harness{url: url})
}

// harness opens queues for the suite: each New under a fresh prefix, a
// Peer as a second process on the same prefix, a Crash as a queue that
// stops without a goodbye and a new process in its place.
type harness struct {
	url  string
	n    atomic.Int64
	mu   sync.Mutex
	opts map[*Queue]Options
}

var runID = fmt.Sprintf("t%x", time.Now().UnixNano()&0xffffff)

func (h *harness) New(t testing.TB, o queuetest.Options) queuetest.Queue {
	t.Helper()
	prefix := fmt.Sprintf("%s_%d", runID, h.n.Add(1))
	opts := Options{
		URLs: []string{h.url}, Prefix: prefix,
		DedupeWindow: o.DedupeWindow, Retention: o.Retention, HistoryRetention: o.HistoryRetention,
		MaxDepth: o.MaxDepth, CrashLimit: o.CrashLimit,
		HeartbeatInterval: 200 * time.Millisecond, ProcessTimeout: 2 * time.Second,
		Logger: quietLogger(),
	}
	t.Cleanup(func() { deleteStreams(h.url, prefix) })
	return h.open(t, opts)
}

func (h *harness) Crash(t testing.TB, q queuetest.Queue) queuetest.Queue {
	t.Helper()
	jq := q.(*Queue)
	jq.crash()
	return h.open(t, h.optsOf(jq))
}

func (h *harness) Peer(t testing.TB, q queuetest.Queue) queuetest.Queue {
	t.Helper()
	return h.open(t, h.optsOf(q.(*Queue)))
}

func (h *harness) optsOf(q *Queue) Options {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opts[q]
}

func (h *harness) open(t testing.TB, o Options) *Queue {
	t.Helper()
	q, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open jetstream queue %s: %v", o.Prefix, err)
	}
	h.mu.Lock()
	if h.opts == nil {
		h.opts = map[*Queue]Options{}
	}
	h.opts[q] = o
	h.mu.Unlock()
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	return q
}

// deleteStreams removes the streams of prefix (cleanup on a shared server).
func deleteStreams(url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = DeleteStreams(ctx, url, prefix)
}
