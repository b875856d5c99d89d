package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine/queuetest"
)

// TestConformance runs the queue conformance suite against PostgreSQL,
// each test in its own schema (dropped after it). Crash kills a process
// the way kill -9 does (its connections drop, nothing is cleaned up);
// Peer opens a second process on the same schema.
func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	queuetest.Run(t, &pgHarness{dsn: suiteDSN(dsn), admin: dsn})
}

// suiteDSN keeps each suite queue's pool small: the suite runs tests in
// parallel against a server other engineers share.
func suiteDSN(dsn string) string {
	if strings.Contains(dsn, "pool_max_conns") {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "pool_max_conns=4"
}

type pgHarness struct {
	dsn   string // for the queues
	admin string // for creating and dropping schemas
}

func (h *pgHarness) options(t testing.TB, schema string, o queuetest.Options) Options {
	opts := Options{
		DSN: h.dsn, Schema: schema,
		DedupeWindow: o.DedupeWindow, Retention: o.Retention, HistoryRetention: o.HistoryRetention,
		MaxDepth: o.MaxDepth, CrashLimit: o.CrashLimit,
	}
	quick(&opts)
	return opts
}

func (h *pgHarness) New(t testing.TB, o queuetest.Options) queuetest.Queue {
	t.Helper()
	return h.open(t, h.options(t, testSchema(t, h.admin), o))
}

func (h *pgHarness) Crash(t testing.TB, q queuetest.Queue) queuetest.Queue {
	t.Helper()
	pq := q.(*Queue)
	pq.kill()
	return h.open(t, pq.opts)
}

func (h *pgHarness) Peer(t testing.TB, q queuetest.Queue) queuetest.Queue {
	t.Helper()
	return h.open(t, q.(*Queue).opts)
}

func (h *pgHarness) open(t testing.TB, opts Options) *Queue {
	t.Helper()
	q, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open schema %s: %v", opts.Schema, err)
	}
	t.Cleanup(func() {
		if err := q.Close(context.Background()); err != nil {
			t.Errorf("close schema %s: %v", opts.Schema, err)
		}
	})
	return q
}
