package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/engine"
)

// History: one record per minute (all series of that minute) in the
// history stream, merged with a compare-and-set; the stream's MaxAge is
// the history retention.

// AddSamples merges samples into their minutes' records.
func (q *Queue) AddSamples(ctx context.Context, samples []engine.Sample) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	byMin := map[int64][]engine.Sample{}
	for _, s := range samples {
		m := s.Minute.UTC().Truncate(time.Minute)
		s.Minute = m
		byMin[m.Unix()] = append(byMin[m.Unix()], s)
	}
	for _, min := range slices.Sorted(maps.Keys(byMin)) {
		if err := q.mergeMinute(ctx, min, byMin[min]); err != nil {
			return fmt.Errorf("add samples: %w", err)
		}
	}
	return nil
}

func (q *Queue) mergeMinute(ctx context.Context, min int64, add []engine.Sample) error {
	subj := q.n.histSubj(min)
	for try := 0; try < 8; try++ {
		cur, rev, err := q.readMinute(ctx, subj)
		if err != nil {
			return err
		}
		for _, s := range add {
			i := slices.IndexFunc(cur, func(c engine.Sample) bool { return c.Series == s.Series })
			if i < 0 {
				cur = append(cur, s)
			} else {
				cur[i].Add(s)
			}
		}
		data, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		_, err = q.publish(ctx, casMsg(subj, data, rev))
		if err == nil {
			return nil
		}
		if !errors.Is(err, errConflict) {
			return err
		}
	}
	return fmt.Errorf("%w: history of minute %d kept changing", engine.ErrUnavailable, min)
}

func (q *Queue) readMinute(ctx context.Context, subj string) ([]engine.Sample, uint64, error) {
	m, err := q.lastMsg(ctx, q.histStream, subj)
	if err != nil || m == nil {
		return nil, 0, err
	}
	var cur []engine.Sample
	if err := json.Unmarshal(m.Data, &cur); err != nil {
		return nil, 0, fmt.Errorf("decode history %s: %w", subj, err)
	}
	return cur, m.Sequence, nil
}

// Samples returns the merged samples with from <= Minute < to, ordered by
// Minute then Series. It reads one record per minute of the range.
func (q *Queue) Samples(ctx context.Context, from, to time.Time) ([]engine.Sample, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	start := from.UTC().Truncate(time.Minute)
	if start.Before(from) {
		start = start.Add(time.Minute)
	}
	var mins []int64
	for m := start; m.Before(to); m = m.Add(time.Minute) {
		mins = append(mins, m.Unix())
	}
	got := make([][]engine.Sample, len(mins))
	errs := make([]error, len(mins))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, min := range mins {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got[i], _, errs[i] = q.readMinute(ctx, q.n.histSubj(min))
		}()
	}
	wg.Wait()
	var out []engine.Sample
	for i := range mins {
		if errs[i] != nil {
			return nil, fmt.Errorf("read history: %w", errs[i])
		}
		slices.SortFunc(got[i], func(a, b engine.Sample) int { return strings.Compare(a.Series, b.Series) })
		out = append(out, got[i]...)
	}
	return out, nil
}

// Audit appends an operator action to the audit stream.
func (q *Queue) Audit(ctx context.Context, e engine.AuditEntry) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	if _, err := q.publish(ctx, &nats.Msg{Subject: q.n.auditSubj(), Data: data}); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns up to limit entries older than before (zero: all),
// newest first. It reads the audit stream (operator actions: small).
func (q *Queue) ListAudit(ctx context.Context, limit int, before time.Time) ([]engine.AuditEntry, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	limit = engine.PageSize(limit)
	var all []engine.AuditEntry
	err := q.readAll(ctx, q.auditStream, false, func(m jetstream.Msg, _ uint64) {
		var e engine.AuditEntry
		if json.Unmarshal(m.Data(), &e) == nil && (before.IsZero() || e.At.Before(before)) {
			all = append(all, e)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	slices.SortStableFunc(all, func(a, b engine.AuditEntry) int { return b.At.Compare(a.At) })
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
