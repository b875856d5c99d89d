package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/engine"
)

// Enqueue writes ev and one pending job per NewJob in one durable
// transaction and sets ev.ID. Event ids are "evt_" and job ids "job_"
// followed by 16 hex digits of a sequence, so both sort by creation. A
// delivery id seen from the same source within DedupeWindow (including
// earlier in the same batch) writes nothing and returns the first event's
// id with engine.ErrDuplicate. While pending+running jobs number MaxDepth
// or more, or when the write fails, the error wraps engine.ErrUnavailable.
// Enqueue sets ev.ReceivedAt to now if it is zero. ev is not retained:
// every byte is copied before the write is queued.
func (q *Queue) Enqueue(ctx context.Context, ev *engine.Event, jobs []engine.NewJob) (string, error) {
	r, res, err := q.enqueueRequest(ctx, ev, jobs)
	if err != nil {
		return "", err
	}
	err = q.send(r)
	if res.dup {
		return res.id, engine.ErrDuplicate
	}
	if err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	ev.ID = res.id
	return res.id, nil
}

// enqueueResult is what an enqueue op reports back to its caller.
type enqueueResult struct {
	id  string
	dup bool
}

// enqueueRequest encodes ev (outside the committer, which only writes)
// and returns the request that stores it and where its op reports back.
func (q *Queue) enqueueRequest(ctx context.Context, ev *engine.Event, jobs []engine.NewJob) (*request, *enqueueResult, error) {
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = q.now()
	}
	data, err := encodeEvent(ev)
	if err != nil {
		return nil, nil, fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	var dk []byte
	if q.opts.DedupeWindow > 0 && ev.DeliveryID != "" {
		dk = dedupeKey(ev.Source, ev.DeliveryID)
	}
	news := cloneNewJobs(jobs)
	res := &enqueueResult{}
	r := newRequest(ctx, func(t *txn) error {
		var err error
		res.id, res.dup, err = t.enqueue(data, dk, news)
		return err
	})
	r.ingest = true
	return r, res, nil
}

func cloneNewJobs(jobs []engine.NewJob) []engine.NewJob {
	out := make([]engine.NewJob, len(jobs))
	for i, j := range jobs {
		out[i] = engine.NewJob{Listener: strings.Clone(j.Listener), MaxTries: j.MaxTries, RunAt: j.RunAt,
			OrderKey: strings.Clone(j.OrderKey)}
	}
	return out
}

// enqueue runs in the committer. It returns the first event's id and true
// for a duplicate delivery.
func (t *txn) enqueue(data, dk []byte, jobs []engine.NewJob) (string, bool, error) {
	var staleSeen []byte
	if dk != nil {
		if v := t.bucket(bDedupe).Get(dk); len(v) >= 8 {
			seen := fromNanos(binary.BigEndian.Uint64(v))
			if t.now.Sub(seen) < t.q.opts.DedupeWindow {
				return string(v[8:]), true, reject(engine.ErrDuplicate)
			}
			staleSeen = append([]byte(nil), v[:8]...)
		}
	}
	if m := t.q.opts.MaxDepth; m > 0 && len(jobs) > 0 && t.depth() >= m {
		return "", false, reject(fmt.Errorf("%w: queue holds %d pending or running jobs (max_depth %d)",
			engine.ErrUnavailable, t.depth(), m))
	}
	seq, err := t.bucket(bEvents).NextSequence()
	if err != nil {
		return "", false, fmt.Errorf("next event id: %w", err)
	}
	id := formatID(eventPrefix, seq)
	if err := t.bucket(bEvents).Put([]byte(id), data); err != nil {
		return "", false, fmt.Errorf("put event %s: %w", id, err)
	}
	if err := t.bucket(bEvTime).Put(tkey(t.now, id), nil); err != nil {
		return "", false, fmt.Errorf("put event %s: %w", id, err)
	}
	if err := t.add(eventsKey, 1); err != nil {
		return "", false, err
	}
	if _, err := t.addJobs(id, jobs); err != nil {
		return "", false, err
	}
	if dk != nil {
		if staleSeen != nil {
			if err := t.bucket(bDedupeT).Delete(append(staleSeen, dk...)); err != nil {
				return "", false, fmt.Errorf("put dedupe record: %w", err)
			}
		}
		if err := t.bucket(bDedupe).Put(dk, append(u64(nanos(t.now)), id...)); err != nil {
			return "", false, fmt.Errorf("put dedupe record: %w", err)
		}
		if err := t.bucket(bDedupeT).Put(append(u64(nanos(t.now)), dk...), nil); err != nil {
			return "", false, fmt.Errorf("put dedupe record: %w", err)
		}
	}
	t.fx.enqueued++
	return id, false, nil
}

// addJobs creates one pending job per NewJob for the event.
func (t *txn) addJobs(eventID string, jobs []engine.NewJob) ([]string, error) {
	ids := make([]string, 0, len(jobs))
	for _, nj := range jobs {
		seq, err := t.bucket(bJobs).NextSequence()
		if err != nil {
			return nil, fmt.Errorf("next job id: %w", err)
		}
		runAt := nj.RunAt
		if runAt.IsZero() {
			runAt = t.now
		}
		j := &engine.Job{
			ID: formatID(jobPrefix, seq), EventID: eventID, Listener: nj.Listener,
			State: engine.JobPending, MaxTries: max(nj.MaxTries, 1), OrderKey: nj.OrderKey,
			RunAt: runAt, CreatedAt: t.now, UpdatedAt: t.now,
		}
		if err := t.putJob(nil, j); err != nil {
			return nil, err
		}
		if err := t.bucket(bEvJobs).Put([]byte(eventID+j.ID), nil); err != nil {
			return nil, fmt.Errorf("put job %s: %w", j.ID, err)
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}

// AddJobs creates new pending jobs for a stored event (replay) and returns
// their ids. It does not apply MaxDepth: an operator asked for it.
func (q *Queue) AddJobs(ctx context.Context, eventID string, jobs []engine.NewJob) ([]string, error) {
	news := cloneNewJobs(jobs)
	var ids []string
	err := q.submit(ctx, func(t *txn) error {
		if t.bucket(bEvents).Get([]byte(eventID)) == nil {
			return reject(engine.ErrNotFound)
		}
		var err error
		ids, err = t.addJobs(eventID, news)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add jobs to event %s: %w", eventID, err)
	}
	return ids, nil
}
