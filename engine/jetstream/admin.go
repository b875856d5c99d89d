package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/switchboard/switchboard/engine"
)

// ListJobs returns the jobs q selects, from the view (after a barrier, so
// every write acknowledged anywhere before the call is seen).
func (q *Queue) ListJobs(ctx context.Context, jq engine.JobQuery) ([]engine.Job, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	if err := q.barrier(ctx); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	limit := engine.PageSize(jq.Limit)
	needle := strings.ToLower(jq.ErrorContains)
	keep := func(e *jobEntry) bool {
		return !e.deleted && (jq.State == "" || e.state == jq.State) &&
			(jq.Listener == "" || e.listener == jq.Listener) &&
			(jq.EventID == "" || e.eventID == jq.EventID) &&
			(needle == "" || strings.Contains(e.errMsg, needle))
	}
	var snaps []jobEntry
	visit := func(e *jobEntry) bool {
		if jq.After != "" && (e.id == jq.After || (!jq.Newest && e.id < jq.After) || (jq.Newest && e.id > jq.After)) {
			return true
		}
		if keep(e) {
			snaps = append(snaps, *e)
		}
		return len(snaps) < limit
	}
	v := q.view
	v.mu.RLock()
	if seq, ok := parseEventID(jq.EventID); ok {
		if ev := v.evBySeq[seq]; ev != nil {
			list := ev.jobs
			for i := range list {
				e := list[i]
				if jq.Newest {
					e = list[len(list)-1-i]
				}
				if !visit(e) {
					break
				}
			}
		}
	} else {
		t := v.all
		if jq.State != "" {
			t = v.byState[jq.State]
		}
		if t != nil {
			walk(t, jq.After, jq.Newest, visit)
		}
	}
	v.mu.RUnlock()
	jobs, err := q.jobsOf(ctx, snaps)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// walk visits t's entries after the id after (all if empty), ascending or
// descending by id, while visit returns true.
func walk(t *btree.BTreeG[*jobEntry], after string, desc bool, visit func(*jobEntry) bool) {
	switch {
	case after == "" && !desc:
		t.Ascend(visit)
	case after == "":
		t.Descend(visit)
	case !desc:
		t.AscendGreaterOrEqual(&jobEntry{id: after}, visit)
	default:
		t.DescendLessOrEqual(&jobEntry{id: after}, visit)
	}
}

// GetJob returns one job.
func (q *Queue) GetJob(ctx context.Context, id string) (*engine.Job, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	if err := q.barrier(ctx); err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	q.view.mu.RLock()
	e := q.view.jobs[id]
	known := e != nil && !e.deleted
	q.view.mu.RUnlock()
	if !known {
		return nil, fmt.Errorf("job %s: %w", id, engine.ErrNotFound)
	}
	r, _, err := q.current(ctx, id, false)
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	return &r.Job, nil
}

// RetryJob makes a failed job pending again, due now, with fresh tries.
func (q *Queue) RetryJob(ctx context.Context, id string) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	_, err := q.update(ctx, id, func(r *record) error {
		if r.State != engine.JobFailed {
			return fmt.Errorf("%w: job is %s, not failed", engine.ErrConflict, r.State)
		}
		now := time.Now()
		r.State, r.RunAt, r.UpdatedAt = engine.JobPending, now, now
		r.Attempt, r.Crashes, r.LeaseUntil = 0, 0, time.Time{}
		r.Holder, r.Started, r.Sem = "", false, false
		return nil
	})
	if err != nil {
		return fmt.Errorf("retry job %s: %w", id, err)
	}
	return nil
}

// ForgetJob deletes a failed job: its record becomes a tombstone, kept
// until its event is pruned, so the job is never taken to be pending
// again.
func (q *Queue) ForgetJob(ctx context.Context, id string) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	_, err := q.update(ctx, id, func(r *record) error {
		if r.State != engine.JobFailed {
			return fmt.Errorf("%w: job is %s, not failed", engine.ErrConflict, r.State)
		}
		tombstone(r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget job %s: %w", id, err)
	}
	return nil
}

// tombstone reduces r to the mark of a deleted job.
func tombstone(r *record) {
	*r = record{Job: engine.Job{ID: r.ID, EventID: r.EventID, Listener: r.Listener, State: r.State,
		UpdatedAt: time.Now()}, Deleted: true}
}

// failedIDs lists the failed jobs f selects.
func (q *Queue) failedIDs(ctx context.Context, f engine.JobFilter) ([]string, error) {
	if err := q.barrier(ctx); err != nil {
		return nil, err
	}
	needle := strings.ToLower(f.ErrorContains)
	var ids []string
	q.view.mu.RLock()
	q.view.byState[engine.JobFailed].Ascend(func(e *jobEntry) bool {
		if (f.Listener == "" || e.listener == f.Listener) && (needle == "" || strings.Contains(e.errMsg, needle)) {
			ids = append(ids, e.id)
		}
		return true
	})
	q.view.mu.RUnlock()
	return ids, nil
}

// RetryFailed retries every failed job f selects.
func (q *Queue) RetryFailed(ctx context.Context, f engine.JobFilter) (int, error) {
	return q.eachFailed(ctx, f, "retry failed jobs", q.RetryJob)
}

// FlushFailed forgets every failed job f selects.
func (q *Queue) FlushFailed(ctx context.Context, f engine.JobFilter) (int, error) {
	return q.eachFailed(ctx, f, "flush failed jobs", q.ForgetJob)
}

func (q *Queue) eachFailed(ctx context.Context, f engine.JobFilter, what string, do func(context.Context, string) error) (int, error) {
	if err := q.checkOpen(); err != nil {
		return 0, err
	}
	ids, err := q.failedIDs(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n := 0
	for _, id := range ids {
		err := do(ctx, id)
		switch {
		case err == nil:
			n++
		case errors.Is(err, engine.ErrConflict), errors.Is(err, engine.ErrNotFound):
		default:
			return n, fmt.Errorf("%s: %w", what, err)
		}
	}
	return n, nil
}

// SetPaused pauses or resumes a listener for every process.
func (q *Queue) SetPaused(ctx context.Context, listener string, paused bool) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	subj := q.n.pauseSubj(listener)
	for try := 0; try < 5; try++ {
		m, err := q.lastMsg(ctx, q.stStream, subj)
		if err != nil {
			return fmt.Errorf("pause %s: %w", listener, err)
		}
		var cur pauseRec
		var rev uint64
		if m != nil {
			rev = m.Sequence
			_ = json.Unmarshal(m.Data, &cur)
		}
		if cur.Paused == paused {
			return nil
		}
		data, _ := json.Marshal(pauseRec{Paused: paused, Since: time.Now().UTC()})
		ack, err := q.publish(ctx, casMsg(subj, data, rev))
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("pause %s: %w", listener, err)
		}
		q.view.mu.Lock()
		q.view.applyPause(hexName(listener), ack.Sequence, data)
		q.view.mu.Unlock()
		q.pauses.put(listener, paused)
		return nil
	}
	return fmt.Errorf("pause %s: %w: the record kept changing", listener, engine.ErrUnavailable)
}

// Stats describes the queue from the view: counts kept as jobs change,
// never a scan.
func (q *Queue) Stats(ctx context.Context) (engine.Stats, error) {
	if err := q.checkOpen(); err != nil {
		return engine.Stats{}, err
	}
	if err := q.barrier(ctx); err != nil {
		return engine.Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	now := time.Now()
	st := engine.Stats{
		States: map[engine.JobState]int{}, Listeners: map[string]map[engine.JobState]int{},
		OldestDueBy: map[string]time.Time{}, Paused: map[string]time.Time{},
		Enqueued: q.enqueued.Load(), Finished: q.finished.Load(), FailedTotal: q.failedTotal.Load(),
	}
	v := q.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	for l, c := range v.counts {
		m := make(map[engine.JobState]int, len(c))
		for s, n := range c {
			m[s] = n
			st.States[s] += n
		}
		st.Listeners[l] = m
	}
	st.Events = len(v.evBySeq)
	for l, t := range v.pending {
		if e, ok := t.Min(); ok && !e.runAt.After(now) {
			st.OldestDueBy[l] = e.runAt
			if st.OldestDue.IsZero() || e.runAt.Before(st.OldestDue) {
				st.OldestDue = e.runAt
			}
		}
	}
	for l, at := range v.paused {
		st.Paused[l] = at
	}
	return st, nil
}

// NextDue returns the earliest future RunAt of a pending job of a
// listener not paused, as far as the view knows (jobs due already are
// announced through Ready).
func (q *Queue) NextDue() time.Time {
	v := q.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	now := time.Now()
	var next time.Time
	for l, t := range v.pending {
		if _, paused := v.paused[l]; paused {
			continue
		}
		t.AscendGreaterOrEqual(&jobEntry{runAt: now.Add(time.Nanosecond)}, func(e *jobEntry) bool {
			if next.IsZero() || e.runAt.Before(next) {
				next = e.runAt
			}
			return false
		})
	}
	return next
}
