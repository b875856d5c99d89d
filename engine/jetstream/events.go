package jetstream

import (
	"context"
	"fmt"
	"sync"

	"github.com/switchboard/switchboard/engine"
)

// defaultScan bounds the events one filtered ListEvents call examines.
const defaultScan = 10000

// ListEvents returns one page of the events eq selects. Source and
// delivery id filters are answered from the view; a payload field filter
// reads each examined event, at most Scan of them per call.
func (q *Queue) ListEvents(ctx context.Context, eq engine.EventQuery) (engine.EventPage, error) {
	if err := q.checkOpen(); err != nil {
		return engine.EventPage{}, err
	}
	if err := q.barrier(ctx); err != nil {
		return engine.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	limit := engine.PageSize(eq.Limit)
	filtered := eq.Source != "" || eq.DeliveryID != "" || eq.Field != ""
	scan := eq.Scan
	if scan <= 0 {
		scan = defaultScan
	}
	var after uint64
	if eq.After != "" {
		s, ok := parseEventID(eq.After)
		if !ok {
			return engine.EventPage{}, fmt.Errorf("list events: cursor %q is not an event id", eq.After)
		}
		after = s
	}
	var page engine.EventPage
	examined := 0
	var last uint64
	for {
		seqs, more := q.nextEvents(eq, after, min(limit, 256), scan-examined, filtered)
		if len(seqs) == 0 && !more {
			break
		}
		evs, err := q.loadEvents(ctx, seqs)
		if err != nil {
			return engine.EventPage{}, fmt.Errorf("list events: %w", err)
		}
		for i, ev := range evs {
			if filtered {
				examined++
			}
			last = seqs[i]
			if ev != nil && (eq.Field == "" || engine.PayloadFieldIs(ev.Payload, eq.Field, eq.Value)) {
				page.Events = append(page.Events, *ev)
				if len(page.Events) == limit {
					break
				}
			}
		}
		after = last
		if len(page.Events) == limit {
			if q.hasEventAfter(eq, last) {
				page.Next = eventID(last)
			}
			return page, nil
		}
		if filtered && examined >= scan {
			if q.hasEventAfter(eq, last) {
				page.Next = eventID(last)
			}
			return page, nil
		}
		if !more {
			break
		}
	}
	return page, nil
}

// nextEvents returns up to n seqs of events after `after` (in eq's order)
// that pass the view-side filters, examining at most budget when
// filtered; more reports whether the walk stopped early.
func (q *Queue) nextEvents(eq engine.EventQuery, after uint64, n, budget int, filtered bool) ([]uint64, bool) {
	v := q.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	var seqs []uint64
	stopped := false
	visit := func(ev *eventEntry) bool {
		if after != 0 && ev.seq == after {
			return true
		}
		if filtered && budget <= 0 {
			stopped = true
			return false
		}
		if eq.Source != "" && ev.source != eq.Source || eq.DeliveryID != "" && ev.delivery != eq.DeliveryID {
			budget--
			if filtered && budget <= 0 && len(seqs) == 0 {
				seqs = append(seqs, ev.seq) // report progress for the cursor
				stopped = true
				return false
			}
			return true
		}
		seqs = append(seqs, ev.seq)
		budget--
		if len(seqs) >= n {
			stopped = true
			return false
		}
		return true
	}
	pivot := &eventEntry{seq: after}
	switch {
	case after == 0 && !eq.Newest:
		v.events.Ascend(visit)
	case after == 0:
		v.events.Descend(visit)
	case !eq.Newest:
		v.events.AscendGreaterOrEqual(pivot, visit)
	default:
		v.events.DescendLessOrEqual(pivot, visit)
	}
	return seqs, stopped
}

// hasEventAfter reports whether any event follows seq in eq's order.
func (q *Queue) hasEventAfter(eq engine.EventQuery, seq uint64) bool {
	v := q.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	found := false
	visit := func(ev *eventEntry) bool {
		if ev.seq == seq {
			return true
		}
		found = true
		return false
	}
	if eq.Newest {
		v.events.DescendLessOrEqual(&eventEntry{seq: seq}, visit)
	} else {
		v.events.AscendGreaterOrEqual(&eventEntry{seq: seq}, visit)
	}
	return found
}

// loadEvents reads events by seq, a few at a time; a missing one (pruned
// meanwhile) is nil.
func (q *Queue) loadEvents(ctx context.Context, seqs []uint64) ([]*engine.Event, error) {
	out := make([]*engine.Event, len(seqs))
	errs := make([]error, len(seqs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, seq := range seqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ev, err := q.loadEvent(ctx, eventID(seq))
			if err != nil && !isNotFound(err) {
				errs[i] = err
				return
			}
			out[i] = ev
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
