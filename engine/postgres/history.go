package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard/switchboard/engine"
)

// addSamplesSQL merges samples into the history: counts add up, and so do
// histogram buckets (add_hist), whichever process sends them. Histograms
// travel flattened, HistogramBuckets values per sample, and a sample
// whose histogram is empty stores NULL.
var addSamplesSQL = `
INSERT INTO sb_.samples AS s (minute, series, count, failed, runtime, wait)
SELECT u.minute, u.series, u.count, u.failed,
	CASE WHEN u.has_rt THEN ($5::bigint[])[(u.k - 1) * ` + buckets + ` + 1 : u.k * ` + buckets + `] END,
	CASE WHEN u.has_wt THEN ($6::bigint[])[(u.k - 1) * ` + buckets + ` + 1 : u.k * ` + buckets + `] END
FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[], $7::bool[], $8::bool[]) WITH ORDINALITY
	AS u(minute, series, count, failed, has_rt, has_wt, k)
ORDER BY u.minute, u.series
ON CONFLICT (minute, series) DO UPDATE SET count = s.count + excluded.count, failed = s.failed + excluded.failed,
	runtime = sb_.add_hist(s.runtime, excluded.runtime), wait = sb_.add_hist(s.wait, excluded.wait)`

var buckets = strconv.Itoa(engine.HistogramBuckets)

// AddSamples merges per-minute activity into the shared history.
func (q *Queue) AddSamples(ctx context.Context, samples []engine.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	merged := map[[2]any]*engine.Sample{} // one row per (minute, series) and statement
	for _, s := range samples {
		s.Minute = utc(s.Minute.Truncate(time.Minute))
		s.Series = cleanText(s.Series)
		k := [2]any{s.Minute.UnixNano(), s.Series}
		if m := merged[k]; m != nil {
			m.Add(s)
		} else {
			c := s
			merged[k] = &c
		}
	}
	list := make([]*engine.Sample, 0, len(merged))
	for _, s := range merged {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b *engine.Sample) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.Series, b.Series))
	})
	n := len(list)
	mins, series, counts, fails := make([]time.Time, n), make([]string, n), make([]int64, n), make([]int64, n)
	hasRT, hasWT := make([]bool, n), make([]bool, n)
	rt, wt := make([]int64, 0, n*engine.HistogramBuckets), make([]int64, 0, n*engine.HistogramBuckets)
	for i, s := range list {
		mins[i], series[i], counts[i], fails[i] = s.Minute, s.Series, int64(s.Count), int64(s.Failed)
		hasRT[i], hasWT[i] = !s.Runtime.IsZero(), !s.Wait.IsZero()
		for b := range engine.HistogramBuckets {
			rt, wt = append(rt, int64(s.Runtime.Counts[b])), append(wt, int64(s.Wait.Counts[b]))
		}
	}
	return q.do(ctx, fmt.Sprintf("add %d history samples", n), false, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(addSamplesSQL), mins, series, counts, fails, rt, wt, hasRT, hasWT)
		return err
	})
}

// Samples returns the merged samples with from <= Minute < to, ordered by
// Minute then Series.
func (q *Queue) Samples(ctx context.Context, from, to time.Time) ([]engine.Sample, error) {
	var out []engine.Sample
	err := q.do(ctx, "read history", true, func(ctx context.Context) error {
		out = out[:0]
		rows, err := q.pool.Query(ctx, q.sql(`SELECT minute, series, count, failed, runtime, wait FROM sb_.samples
			WHERE minute >= $1 AND minute < $2 ORDER BY minute, series`), utc(from), utc(to))
		if err != nil {
			return err
		}
		var s engine.Sample
		var count, failed int64
		var rt, wt []int64
		_, err = pgx.ForEachRow(rows, []any{&s.Minute, &s.Series, &count, &failed, &rt, &wt}, func() error {
			o := engine.Sample{Minute: utc(s.Minute), Series: s.Series, Count: uint64(count), Failed: uint64(failed)}
			for i := range min(len(rt), engine.HistogramBuckets) {
				o.Runtime.Counts[i] = uint64(rt[i])
			}
			for i := range min(len(wt), engine.HistogramBuckets) {
				o.Wait.Counts[i] = uint64(wt[i])
			}
			rt, wt = nil, nil
			out = append(out, o)
			return nil
		})
		return err
	})
	return out, err
}

// Audit durably appends an operator action.
func (q *Queue) Audit(ctx context.Context, e engine.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	return q.do(ctx, "record audit entry "+e.Action, false, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(`INSERT INTO sb_.audit (at, action, target, count, actor, detail)
			VALUES ($1, $2, $3, $4, $5, $6)`), utc(e.At), cleanText(e.Action), cleanText(e.Target), e.Count,
			cleanText(e.Actor), cleanText(e.Detail))
		return err
	})
}

// ListAudit returns up to limit entries, newest first, older than before
// (zero: from the newest).
func (q *Queue) ListAudit(ctx context.Context, limit int, before time.Time) ([]engine.AuditEntry, error) {
	limit = clampLimit(limit)
	if before.IsZero() {
		before = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var out []engine.AuditEntry
	err := q.do(ctx, "list audit entries", true, func(ctx context.Context) error {
		out = out[:0]
		rows, err := q.pool.Query(ctx, q.sql(`SELECT at, action, target, count, actor, detail FROM sb_.audit
			WHERE at < $1 ORDER BY at DESC, id DESC LIMIT $2`), utc(before), limit)
		if err != nil {
			return err
		}
		var e engine.AuditEntry
		var count int32
		_, err = pgx.ForEachRow(rows, []any{&e.At, &e.Action, &e.Target, &count, &e.Actor, &e.Detail}, func() error {
			e.At, e.Count = utc(e.At), int(count)
			out = append(out, e)
			return nil
		})
		return err
	})
	return out, err
}
