package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Options are the settings the suite opens a backend with. Zero values
// mean what they mean in the backends: no dedupe, keep forever, no depth
// limit, the default crash limit (3), the backend's default history
// retention (7 days).
type Options struct {
	DedupeWindow     time.Duration
	Retention        time.Duration
	HistoryRetention time.Duration
	MaxDepth         int
	CrashLimit       int
}

// Queue is a backend under test: the contract plus an on-demand prune.
type Queue interface {
	engine.Queue
	// Prune deletes what retention, the dedupe window, kv expiry and
	// history retention allow, now, and returns how many records it
	// deleted. Backends also prune by themselves in the background.
	Prune(ctx context.Context) (int, error)
}

// Harness opens backends for the suite.
type Harness interface {
	// New opens an empty queue with opts; queues from separate calls share
	// nothing. The harness closes it when the test ends (closing twice is
	// safe, see engine.Queue's Close).
	New(t testing.TB, opts Options) Queue
	// Crash stops q as if its process were killed (kill -9: nothing is
	// finished, nothing cleaned up) and returns a new process's queue over
	// the same storage, opened with the same options.
	Crash(t testing.TB, q Queue) Queue
	// Peer opens another process's queue over the same storage as q, for
	// the tests of limits that hold across processes; nil when the backend
	// serves one process only (bbolt), and those tests are skipped.
	Peer(t testing.TB, q Queue) Queue
}
