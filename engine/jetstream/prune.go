package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/engine"
)

// pruneLoop prunes every PruneInterval in the one process holding the
// prune lock; every process drops what retention allows from its view.
func (q *Queue) pruneLoop(ctx context.Context) {
	defer q.wg.Done()
	t := time.NewTicker(q.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if q.takeLock(ctx, "prune", 3*q.opts.PruneInterval) {
			if _, err := q.Prune(ctx); err != nil && ctx.Err() == nil {
				q.log.Warn("prune queue", "err", err)
			}
		} else {
			q.view.mu.Lock()
			q.view.dropExpired(time.Now(), q.opts.Retention)
			q.view.mu.Unlock()
		}
	}
}

// lockRec is a lease on a named lock in the state stream.
type lockRec struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
}

// takeLock takes or renews lock name for ttl and reports whether this
// process holds it.
func (q *Queue) takeLock(ctx context.Context, name string, ttl time.Duration) bool {
	subj := q.n.lockSubj(name)
	m, err := q.lastMsg(ctx, q.stStream, subj)
	if err != nil {
		return false
	}
	var cur lockRec
	var rev uint64
	if m != nil {
		rev = m.Sequence
		_ = json.Unmarshal(m.Data, &cur)
	}
	now := time.Now()
	if cur.Holder != q.proc.ID && now.Before(cur.Until) {
		return false
	}
	data, _ := json.Marshal(lockRec{Holder: q.proc.ID, Until: now.Add(ttl)})
	_, err = q.publish(ctx, casMsg(subj, data, rev))
	return err == nil
}

// Prune deletes done jobs finished more than Retention ago, events stored
// more than Retention ago with no jobs left (leaving a small tombstone on
// a delivery's subject while the dedupe window still covers it), dedupe
// tombstones past the window, expired kv entries, and history minutes and
// audit entries older than HistoryRetention. It returns how many records
// it deleted.
func (q *Queue) Prune(ctx context.Context) (int, error) {
	if err := q.checkOpen(); err != nil {
		return 0, err
	}
	now := time.Now()
	total := 0
	if r := q.opts.Retention; r > 0 {
		n, err := q.pruneRetention(ctx, now, now.Add(-r))
		total += n
		if err != nil {
			return total, fmt.Errorf("prune queue: %w", err)
		}
	}
	n, err := q.pruneTombs(ctx, now)
	total += n
	if err != nil {
		return total, fmt.Errorf("prune queue: %w", err)
	}
	n, err = q.pruneKV(ctx, now)
	total += n
	if err != nil {
		return total, fmt.Errorf("prune queue: %w", err)
	}
	n, err = q.pruneHistory(ctx, now)
	total += n
	if err != nil {
		return total, fmt.Errorf("prune queue: %w", err)
	}
	return total, nil
}

// expiredJob reports whether e is done (or deleted) and older than cut.
func expiredJob(e *jobEntry, cut time.Time) bool {
	return e.deleted || (e.state == engine.JobDone && e.updatedAt.Before(cut))
}

// pruneRetention deletes what retention allows: whole events whose jobs
// are all gone, and, for events that must stay, their expired done jobs
// (as tombstones).
func (q *Queue) pruneRetention(ctx context.Context, now, cut time.Time) (int, error) {
	type doomed struct {
		ev   eventEntry
		revs []uint64
	}
	var evs []doomed
	var lone []string
	v := q.view
	v.mu.RLock()
	v.events.Ascend(func(ev *eventEntry) bool {
		if !ev.at.Before(cut) {
			return false
		}
		all := true
		for _, e := range ev.jobs {
			if !expiredJob(e, cut) {
				all = false
			}
		}
		if all {
			d := doomed{ev: *ev}
			for _, e := range ev.jobs {
				if e.rev > 0 {
					d.revs = append(d.revs, e.rev)
				}
			}
			evs = append(evs, d)
			return len(evs) < 1000
		}
		for _, e := range ev.jobs {
			if !e.deleted && expiredJob(e, cut) {
				lone = append(lone, e.id)
			}
		}
		return true
	})
	v.mu.RUnlock()
	total := 0
	for _, d := range evs {
		if err := q.pruneEvent(ctx, now, &d.ev); err != nil {
			return total, err
		}
		total++
		// The event goes first: records without their event are inert,
		// while an event without its jobs' records would recreate them.
		for _, rev := range d.revs {
			if err := q.deleteSeq(ctx, q.stStream, rev); err != nil {
				return total, err
			}
			total++
		}
	}
	for _, id := range lone {
		_, err := q.update(ctx, id, func(r *record) error {
			if r.State != engine.JobDone {
				return engine.ErrConflict
			}
			tombstone(r)
			return nil
		})
		if err == nil {
			total++
		} else if !errors.Is(err, engine.ErrConflict) && !isNotFound(err) {
			return total, err
		}
	}
	v.mu.Lock()
	v.dropExpired(now, q.opts.Retention)
	v.mu.Unlock()
	return total, nil
}

// pruneEvent deletes one event message; a delivery still inside the
// dedupe window keeps a tombstone on its subject naming the event.
func (q *Queue) pruneEvent(ctx context.Context, now time.Time, ev *eventEntry) error {
	if q.opts.DedupeWindow > 0 && ev.dedupe && now.Sub(ev.at) < q.opts.DedupeWindow {
		m := nats.NewMsg(q.n.evSubj(dedupeToken(ev.source, ev.delivery)))
		m.Header.Set(hKind, "tomb")
		m.Header.Set(hEvent, eventID(ev.seq))
		m.Header.Set(hCreated, ev.at.UTC().Format(time.RFC3339Nano))
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, fmt.Sprint(ev.seq))
		if _, err := q.publish(ctx, m); err != nil && !errors.Is(err, errConflict) {
			return err
		}
	}
	return q.deleteSeq(ctx, q.evStream, ev.seq)
}

// pruneTombs deletes dedupe tombstones the window no longer covers.
func (q *Queue) pruneTombs(ctx context.Context, now time.Time) (int, error) {
	var seqs []uint64
	q.view.mu.RLock()
	for seq, at := range q.view.tombs {
		if q.opts.DedupeWindow <= 0 || now.Sub(at) >= q.opts.DedupeWindow {
			seqs = append(seqs, seq)
		}
	}
	q.view.mu.RUnlock()
	for i, seq := range seqs {
		if err := q.deleteSeq(ctx, q.evStream, seq); err != nil {
			return i, err
		}
		q.view.mu.Lock()
		delete(q.view.tombs, seq)
		q.view.mu.Unlock()
	}
	return len(seqs), nil
}

// pruneKV deletes expired kv values: it reads the kv stream's headers and
// deletes each expired message by sequence (a value written since is a
// newer message and stays).
func (q *Queue) pruneKV(ctx context.Context, now time.Time) (int, error) {
	var seqs []uint64
	err := q.readAll(ctx, q.kvStream, true, func(m jetstream.Msg, seq uint64) {
		if expired(m.Headers(), now) {
			seqs = append(seqs, seq)
		}
	})
	if err != nil {
		return 0, err
	}
	return q.deleteAll(ctx, q.kvStream, seqs)
}

// pruneHistory deletes minutes and audit entries older than the history
// retention (the streams' MaxAge goes by when a record was written, not
// by the minute or time it describes).
func (q *Queue) pruneHistory(ctx context.Context, now time.Time) (int, error) {
	r := q.opts.HistoryRetention
	if r <= 0 {
		return 0, nil
	}
	cut := now.Add(-r)
	var hist, audit []uint64
	err := q.readAll(ctx, q.histStream, true, func(m jetstream.Msg, seq uint64) {
		tok := m.Subject()[strings.LastIndexByte(m.Subject(), '.')+1:]
		if min, err := strconv.ParseInt(tok, 10, 64); err == nil && time.Unix(min, 0).Before(cut.Truncate(time.Minute)) {
			hist = append(hist, seq)
		}
	})
	if err != nil {
		return 0, err
	}
	err = q.readAll(ctx, q.auditStream, false, func(m jetstream.Msg, seq uint64) {
		var e engine.AuditEntry
		if json.Unmarshal(m.Data(), &e) == nil && e.At.Before(cut) {
			audit = append(audit, seq)
		}
	})
	if err != nil {
		return 0, err
	}
	n, err := q.deleteAll(ctx, q.histStream, hist)
	if err != nil {
		return n, err
	}
	m, err := q.deleteAll(ctx, q.auditStream, audit)
	return n + m, err
}

func (q *Queue) deleteAll(ctx context.Context, s jetstream.Stream, seqs []uint64) (int, error) {
	for i, seq := range seqs {
		if err := q.deleteSeq(ctx, s, seq); err != nil {
			return i, err
		}
	}
	return len(seqs), nil
}

// readAll passes every message of s (headers only if asked) to fn, in
// order, through a short-lived ordered consumer.
func (q *Queue) readAll(ctx context.Context, s jetstream.Stream, headersOnly bool, fn func(jetstream.Msg, uint64)) error {
	info, err := s.Info(ctx)
	if err != nil {
		return unavailable(err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{HeadersOnly: headersOnly})
	if err != nil {
		return unavailable(err)
	}
	for {
		batch, err := c.Fetch(512, jetstream.FetchMaxWait(q.opts.Timeout))
		if err != nil {
			return unavailable(err)
		}
		got, last := 0, false
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			fn(m, meta.Sequence.Stream)
			last = meta.NumPending == 0
		}
		if err := batch.Error(); err != nil {
			return unavailable(err)
		}
		if got == 0 || last {
			return nil
		}
	}
}

// dropExpired forgets events and done jobs retention no longer keeps
// (the pruning process deletes them from the streams).
func (v *view) dropExpired(now time.Time, retention time.Duration) {
	if retention <= 0 {
		return
	}
	cut := now.Add(-retention)
	var gone []*eventEntry
	v.events.Ascend(func(ev *eventEntry) bool {
		if !ev.at.Before(cut) {
			return false
		}
		for _, e := range ev.jobs {
			if !expiredJob(e, cut) {
				return true
			}
		}
		gone = append(gone, ev)
		return true
	})
	for _, ev := range gone {
		v.dropEvent(ev)
	}
}
