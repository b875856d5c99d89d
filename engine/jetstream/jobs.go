package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/switchboard/switchboard/engine"
)

// implicitRecord is the record of a job that has not changed since its
// creating message: pending, as the spec said.
func implicitRecord(e *jobEntry) *record {
	return &record{Job: engine.Job{
		ID: e.id, EventID: e.eventID, Listener: e.listener, State: engine.JobPending,
		MaxTries: e.maxTries, RunAt: e.runAt, CreatedAt: e.createdAt, UpdatedAt: e.updatedAt,
		OrderKey: e.orderKey,
	}}
}

// current returns job id's record and its revision (0: none yet), from
// the view when it holds the record, else from the servers. fresh skips
// the view.
func (q *Queue) current(ctx context.Context, id string, fresh bool) (*record, uint64, error) {
	q.view.mu.RLock()
	e := q.view.jobs[id]
	var snap jobEntry
	if e != nil {
		snap = *e
	}
	q.view.mu.RUnlock()
	if e != nil && !fresh {
		switch {
		case snap.deleted:
			return nil, 0, fmt.Errorf("job %s: %w", id, engine.ErrNotFound)
		case snap.rev == 0:
			return implicitRecord(&snap), 0, nil
		case snap.rec != nil:
			return snap.rec.clone(), snap.rev, nil
		}
	}
	m, err := q.lastMsg(ctx, q.stStream, q.n.jobSubj(id))
	if err != nil {
		return nil, 0, err
	}
	if m == nil {
		if e != nil && !snap.deleted {
			return implicitRecord(&snap), 0, nil
		}
		return nil, 0, fmt.Errorf("job %s: %w", id, engine.ErrNotFound)
	}
	r, err := decodeRecord(m.Data)
	if err != nil {
		return nil, 0, err
	}
	if r.Deleted {
		return nil, 0, fmt.Errorf("job %s: %w", id, engine.ErrNotFound)
	}
	return r, m.Sequence, nil
}

// update changes job id's record with change, as a compare-and-set on its
// revision, retrying with a fresh read when another write came first. The
// view is updated with the result. change may return an error to give up.
func (q *Queue) update(ctx context.Context, id string, change func(r *record) error) (*record, error) {
	fresh := false
	for try := 0; try < 5; try++ {
		r, rev, err := q.current(ctx, id, fresh)
		if err != nil {
			if !fresh && errors.Is(err, engine.ErrNotFound) {
				fresh = true
				continue
			}
			return nil, err
		}
		if err := change(r); err != nil {
			if !fresh {
				// The view may be behind another process's write that
				// makes this change valid; look at the servers.
				fresh = true
				continue
			}
			return nil, err
		}
		if _, err := q.write(ctx, r, rev); err != nil {
			if errors.Is(err, errConflict) {
				fresh = true
				continue
			}
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: job %s kept changing", engine.ErrUnavailable, id)
}

// write stores r as the job's record if its current revision is rev, and
// applies it to the view.
func (q *Queue) write(ctx context.Context, r *record, rev uint64) (uint64, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode job %s: %w", r.ID, err)
	}
	ack, err := q.publish(ctx, casMsg(q.n.jobSubj(r.ID), data, rev))
	if err != nil {
		return 0, err
	}
	q.view.mu.Lock()
	q.view.applyRecord(r.ID, ack.Sequence, r)
	q.view.mu.Unlock()
	return ack.Sequence, nil
}

// jobsOf turns view entries into jobs, reading the records the view does
// not keep (done jobs) from the servers, a few at a time.
func (q *Queue) jobsOf(ctx context.Context, snaps []jobEntry) ([]engine.Job, error) {
	out := make([]engine.Job, len(snaps))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	for i := range snaps {
		e := &snaps[i]
		switch {
		case e.rev == 0:
			out[i] = implicitRecord(e).Job
			continue
		case e.rec != nil:
			out[i] = e.rec.clone().Job
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, _, err := q.current(ctx, e.id, true)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil && !errors.Is(err, engine.ErrNotFound) {
					firstErr = err
				}
				out[i] = implicitRecord(e).Job
				out[i].State = e.state
				return
			}
			out[i] = r.Job
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
