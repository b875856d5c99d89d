package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testDSN returns the test database or skips.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SWITCHBOARD_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("SWITCHBOARD_TEST_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); skipping the PostgreSQL queue tests")
	}
	return dsn
}

// testSchema returns a fresh schema name, dropped when the test ends.
func testSchema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sbtest_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

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
