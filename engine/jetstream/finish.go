package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Start records that a leased job's attempt has begun.
func (q *Queue) Start(ctx context.Context, jobID string, attempt int) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	_, err := q.update(ctx, jobID, func(r *record) error {
		if r.State != engine.JobRunning || r.Attempt != attempt {
			return fmt.Errorf("%w: job is %s at attempt %d", engine.ErrLeaseLost, r.State, r.Attempt)
		}
		r.Started, r.Suspect, r.UpdatedAt = true, false, time.Now()
		return nil
	})
	if err != nil {
		return fmt.Errorf("start job %s attempt %d: %w", jobID, attempt, err)
	}
	return nil
}

// Finish records an attempt's result (see engine.Outcome) with a
// compare-and-set fenced by the attempt number, then releases the
// listener's concurrency slot if the attempt held one.
func (q *Queue) Finish(ctx context.Context, res engine.Result) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	var held bool
	var listener string
	r, err := q.update(ctx, res.JobID, func(r *record) error {
		if r.State != engine.JobRunning || r.Attempt != res.Attempt {
			return fmt.Errorf("%w: job is %s at attempt %d", engine.ErrLeaseLost, r.State, r.Attempt)
		}
		held, listener = r.Sem, r.Listener
		return finishRecord(r, res, time.Now())
	})
	if err != nil {
		return fmt.Errorf("finish job %s attempt %d: %w", res.JobID, res.Attempt, err)
	}
	switch r.State {
	case engine.JobDone:
		q.finished.Add(1)
	case engine.JobFailed:
		q.failedTotal.Add(1)
	}
	if held {
		if err := q.semRelease(ctx, listener, res.JobID); err != nil {
			q.log.Warn("release concurrency slot", "listener", listener, "job", res.JobID, "err", err)
		}
	}
	return nil
}

// finishRecord applies an attempt's result to its running record.
func finishRecord(r *record, res engine.Result, now time.Time) error {
	runAt := res.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	var jerr *engine.JobError
	if res.Err != nil {
		e := *res.Err
		jerr = &e
	}
	if res.Outcome != engine.Returned {
		r.Attempts = engine.AppendAttempt(r.Attempts, engine.Attempt{
			N: res.Attempt, StartedAt: res.StartedAt, Duration: res.Duration, Outcome: res.Outcome, Error: jerr,
		})
	}
	switch res.Outcome {
	case engine.Succeeded:
		r.State, r.LastError = engine.JobDone, nil
	case engine.Retry:
		r.State, r.RunAt, r.LastError = engine.JobPending, runAt, jerr
	case engine.Snoozed, engine.Interrupted, engine.Returned:
		r.State, r.RunAt = engine.JobPending, runAt
		r.Attempt--
		if res.Outcome == engine.Interrupted && jerr != nil {
			r.LastError = jerr
		}
	case engine.Failed:
		r.State, r.LastError = engine.JobFailed, jerr
	default:
		return fmt.Errorf("unknown outcome %d", res.Outcome)
	}
	r.UpdatedAt, r.LeaseUntil = now, time.Time{}
	r.Holder, r.Started, r.Sem = "", false, false
	return nil
}

// reclaim takes back running jobs whose lease ended, or whose holder is
// known dead (no heartbeat for ProcessTimeout), charging them as the
// Queue contract says.
func (q *Queue) reclaim(ctx context.Context, now time.Time) error {
	type lost struct {
		id      string
		attempt int
		crashed bool
	}
	var todo []lost
	v := q.view
	v.mu.RLock()
	grace := q.opts.ProcessTimeout
	for _, e := range v.running {
		// Another process's attempt: taken back as a crash once its
		// heartbeat lapsed; as an overrun only if the process outlives
		// the lease by a heartbeat window, so that a process that died
		// just before its lease ended is still charged a crash.
		foreign := e.holder != q.proc.ID
		dead := foreign && !v.alive(e.holder, now, grace) &&
			(v.known(e.holder) || now.Sub(e.updatedAt) > grace)
		over := now.After(e.leaseUntil) && (!foreign || now.After(e.leaseUntil.Add(grace)))
		if dead || over {
			todo = append(todo, lost{id: e.id, attempt: e.attempt, crashed: dead})
		}
	}
	v.mu.RUnlock()
	for _, l := range todo {
		if err := q.takeBack(ctx, l.id, l.attempt, l.crashed, now); err != nil {
			if errors.Is(err, engine.ErrLeaseLost) || errors.Is(err, engine.ErrNotFound) {
				continue
			}
			return err
		}
	}
	return nil
}

// takeBack ends a lost attempt: given back if it never started, else
// counted (as a crash if its process died) and the job pending again or
// failed once its tries or the crash limit are spent.
func (q *Queue) takeBack(ctx context.Context, id string, attempt int, crashed bool, now time.Time) error {
	var held bool
	var listener string
	r, err := q.update(ctx, id, func(r *record) error {
		if r.State != engine.JobRunning || r.Attempt != attempt {
			return engine.ErrLeaseLost
		}
		if !crashed && !now.After(r.LeaseUntil) {
			return engine.ErrLeaseLost // claimed again meanwhile
		}
		held, listener = r.Sem, r.Listener
		if !r.Started {
			// Leased ahead: the attempt is given back. From a process that
			// died it may have run (and killed it) before its start was
			// recorded: suspect, so that its next start is made durable.
			unlease(r, now)
			r.Suspect = r.Suspect || crashed
			return nil
		}
		je := &engine.JobError{Attempt: r.Attempt, At: now, Kind: engine.KindLease,
			Message: fmt.Sprintf("lease expired at %s before the attempt finished", r.LeaseUntil.UTC().Format(time.RFC3339))}
		if crashed {
			r.Crashes++
			je.Kind = engine.KindCrash
			je.Message = fmt.Sprintf("process %s stopped (no heartbeat for %s) while the attempt ran", r.Holder, q.opts.ProcessTimeout)
		}
		r.LastError, r.LeaseUntil, r.UpdatedAt = je, time.Time{}, now
		r.Holder, r.Started, r.Sem = "", false, false
		if r.Attempt >= r.MaxTries || r.Crashes >= q.opts.CrashLimit {
			r.State = engine.JobFailed
		} else {
			r.State, r.RunAt = engine.JobPending, now
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r.State == engine.JobFailed {
		q.failedTotal.Add(1)
	}
	if held {
		if err := q.semRelease(ctx, listener, id); err != nil {
			q.log.Warn("release concurrency slot", "listener", listener, "job", id, "err", err)
		}
	}
	return nil
}
