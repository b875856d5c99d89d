package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
)

// testDSN returns the test database or skips.
func testDSN(t testing.TB) string { return postgrestest.DSN(t, "the PostgreSQL queue tests") }

// testSchema returns a fresh schema name, dropped when the test ends.
func testSchema(t testing.TB, dsn string) string { return postgrestest.Schema(t, dsn, "sbtest_") }

// openTest opens a queue on a fresh schema with short heartbeats.
func openTest(t testing.TB, opts Options) *Queue {
	t.Helper()
	dsn := testDSN(t)
	if opts.DSN == "" {
		opts.DSN = dsn
	}
	if opts.Schema == "" {
		opts.Schema = testSchema(t, dsn)
	}
	quick(&opts)
	q, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

// quick shortens the heartbeats for tests that wait on them.
func quick(o *Options) {
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 100 * time.Millisecond
		o.HeartbeatWindow = 2 * time.Second
	}
}

// reopen opens another process's queue on q's schema.
func reopen(t testing.TB, q *Queue) *Queue {
	t.Helper()
	p, err := Open(context.Background(), q.opts)
	if err != nil {
		t.Fatalf("open peer: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}
