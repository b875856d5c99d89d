package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// BenchmarkStats_1MJobs measures Stats over a schema holding a million
// jobs of ten listeners (98.9% done, 1% pending, 0.1% failed) and 100 000
// events. The rows are written by SQL in the shape the queue writes them,
// counters included, then a few events go through Enqueue so the
// counters are spread over shards as in use.
//
//	go test -run '^$' -bench Stats_1MJobs -benchtime 200x ./engine/postgres/
func BenchmarkStats_1MJobs(b *testing.B) {
	q := openTest(b, Options{})
	ctx := context.Background()
	seed := []string{
		`INSERT INTO sb_.events (id, name, source, received_at, payload, created_at)
			SELECT g, 'e', 's', now(), '{}', now() FROM generate_series(1, 100000) g`,
		`SELECT setval('sb_.events_id_seq', 100000)`,
		`INSERT INTO sb_.jobs (event_id, listener, state, max_tries, run_at, created_at, updated_at)
			SELECT g % 100000 + 1, 'l' || g % 10, CASE WHEN g % 100 = 0 THEN 0 WHEN g % 1000 = 1 THEN 3 ELSE 2 END,
				3, now() - interval '1 hour', now(), now()
			FROM generate_series(1, 1000000) g`,
		`INSERT INTO sb_.counts (listener, state, shard, n) SELECT listener, state, 0, count(*) FROM sb_.jobs GROUP BY 1, 2`,
		`INSERT INTO sb_.counts (listener, state, shard, n) VALUES ('', 4, 0, 100000)`,
		`ANALYZE sb_.jobs`, `ANALYZE sb_.events`, `ANALYZE sb_.counts`,
	}
	for _, s := range seed {
		if _, err := q.pool.Exec(ctx, q.sql(s)); err != nil {
			b.Fatalf("seed: %s: %v", s, err)
		}
	}
	for i := range 200 {
		jobs := []engine.NewJob{{Listener: "l" + string(rune('0'+i%10)), MaxTries: 3}}
		if _, err := q.Enqueue(ctx, &engine.Event{Name: "e", Source: "s", Payload: []byte(`{}`)}, jobs); err != nil {
			b.Fatal(err)
		}
	}
	st, err := q.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, n := range st.States {
		total += n
	}
	if total != 1000200 || st.Events != 100200 || len(st.OldestDueBy) != 10 {
		b.Fatalf("stats over the seed: %d jobs, %d events, %d listeners due; want 1000200, 100200, 10", total, st.Events, len(st.OldestDueBy))
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := q.Stats(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N)/1000, "ms/stats")
}
