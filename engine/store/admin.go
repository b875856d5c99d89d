package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// ErrNotFailed is returned (wrapped) by RetryJob and ForgetJob for a job
// that is not failed.
var ErrNotFailed = fmt.Errorf("job has not failed: %w", engine.ErrConflict)

// adminChunk bounds how many jobs one transaction of a bulk admin action
// touches, so it does not hold the writer for long.
const adminChunk = 1000

// defaultLimit and maxLimit bound list sizes.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

func clampLimit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

// ListEvents returns up to limit events (default 50), oldest first,
// starting after the event with id after ("" = from the start).
func (q *Queue) ListEvents(ctx context.Context, limit int, after string) ([]engine.Event, error) {
	limit = clampLimit(limit)
	var out []engine.Event
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		k, v := seekAfter(c, after)
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			ev, err := decodeEvent(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, *ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// seekAfter positions c on the first key greater than after.
func seekAfter(c *bolt.Cursor, after string) ([]byte, []byte) {
	if after == "" {
		return c.First()
	}
	k, v := c.Seek([]byte(after))
	if k != nil && bytes.Equal(k, []byte(after)) {
		return c.Next()
	}
	return k, v
}

// GetEvent returns an event and its jobs in creation order, or an error
// wrapping engine.ErrNotFound.
func (q *Queue) GetEvent(ctx context.Context, id string) (*engine.Event, []engine.Job, error) {
	var ev *engine.Event
	var jobs []engine.Job
	err := q.db.View(func(tx *bolt.Tx) error {
		var err error
		if ev, err = getEvent(tx, id); err != nil || ev == nil {
			return err
		}
		for _, jid := range eventJobIDs(tx, id) {
			j, err := getJob(tx, jid)
			if err != nil {
				return err
			}
			if j != nil {
				jobs = append(jobs, *j)
			}
		}
		return nil
	})
	if err == nil && ev == nil {
		err = engine.ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get event %s: %w", id, err)
	}
	return ev, jobs, nil
}

// ListJobs returns the jobs qry selects in id (creation) order, up to
// qry.Limit (default 50).
func (q *Queue) ListJobs(ctx context.Context, qry engine.JobQuery) ([]engine.Job, error) {
	limit := clampLimit(qry.Limit)
	var out []engine.Job
	err := q.db.View(func(tx *bolt.Tx) error {
		keep := func(j *engine.Job) bool {
			return (qry.State == "" || j.State == qry.State) &&
				(qry.Listener == "" || j.Listener == qry.Listener) &&
				(qry.EventID == "" || j.EventID == qry.EventID)
		}
		add := func(id string) error {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if j != nil && keep(j) && len(out) < limit {
				out = append(out, *j)
			}
			return nil
		}
		var ids []string
		ok := qry.EventID != ""
		if ok {
			ids = eventJobIDs(tx, qry.EventID)
		} else {
			var err error
			if ids, ok, err = stateIDs(tx, qry, limit); err != nil {
				return err
			}
		}
		if ok {
			for _, id := range ids {
				if id > qry.After {
					if err := add(id); err != nil {
						return err
					}
				}
			}
			return nil
		}
		c := tx.Bucket(bJobs).Cursor()
		if qry.State == engine.JobFailed {
			fb := tx.Bucket(bState).Bucket([]byte(engine.JobFailed))
			if fb == nil {
				return nil
			}
			c = fb.Cursor()
		}
		for k, _ := seekAfter(c, qry.After); k != nil && len(out) < limit; k, _ = c.Next() {
			if err := add(string(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// stateIDs returns, for pending and running, the least limit ids after
// qry.After of the jobs in qry.State (of qry.Listener, if set), taken from
// the due or lease index. Those hold tkeys, in time order, so every key is
// read; both sets are bounded by the queue's depth, and the running one by
// the workers. ok is false for the other states: done jobs are most jobs,
// so a scan of the jobs in id order finds them sooner; failed ones have
// their own id-ordered index.
func stateIDs(tx *bolt.Tx, qry engine.JobQuery, limit int) (ids []string, ok bool, err error) {
	least := func(k []byte) {
		_, id := splitTkey(k)
		if id <= qry.After || (len(ids) == limit && id >= ids[limit-1]) {
			return
		}
		i, _ := slices.BinarySearch(ids, id)
		if len(ids) == limit {
			ids = ids[:limit-1]
		}
		ids = slices.Insert(ids, i, id)
	}
	switch qry.State {
	case engine.JobPending:
		due := tx.Bucket(bDueL)
		due.ForEachBucket(func(name []byte) error {
			if qry.Listener == "" || string(name) == qry.Listener {
				due.Bucket(name).ForEach(func(k, _ []byte) error { least(k); return nil })
			}
			return nil
		})
	case engine.JobRunning:
		err = tx.Bucket(bLease).ForEach(func(k, _ []byte) error {
			if qry.Listener != "" {
				_, id := splitTkey(k)
				j, err := getJob(tx, id)
				if err != nil {
					return err
				}
				if j == nil || j.Listener != qry.Listener {
					return nil
				}
			}
			least(k)
			return nil
		})
	default:
		return nil, false, nil
	}
	return ids, true, err
}

// GetJob returns one job, or an error wrapping engine.ErrNotFound.
func (q *Queue) GetJob(ctx context.Context, id string) (*engine.Job, error) {
	var j *engine.Job
	err := q.db.View(func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx, id)
		return err
	})
	if err == nil && j == nil {
		err = engine.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// RetryJob makes a failed job pending again, due now, with fresh tries
// (Attempt 0); LastError is kept. A job that is not failed gets an error
// wrapping ErrNotFailed.
func (q *Queue) RetryJob(ctx context.Context, id string) error {
	if err := q.submit(ctx, func(t *txn) error { return t.retryFailed(id) }); err != nil {
		return fmt.Errorf("retry job %s: %w", id, err)
	}
	return nil
}

// ForgetJob deletes a failed job. A job that is not failed gets an error
// wrapping ErrNotFailed.
func (q *Queue) ForgetJob(ctx context.Context, id string) error {
	if err := q.submit(ctx, func(t *txn) error { return t.forgetFailed(id) }); err != nil {
		return fmt.Errorf("forget job %s: %w", id, err)
	}
	return nil
}

// RetryFailed does RetryJob for every failed job and returns how many.
func (q *Queue) RetryFailed(ctx context.Context) (int, error) {
	n, err := q.eachFailed(ctx, (*txn).retryFailed)
	if err != nil {
		return n, fmt.Errorf("retry failed jobs: %w", err)
	}
	return n, nil
}

// FlushFailed deletes every failed job and returns how many.
func (q *Queue) FlushFailed(ctx context.Context) (int, error) {
	n, err := q.eachFailed(ctx, (*txn).forgetFailed)
	if err != nil {
		return n, fmt.Errorf("flush failed jobs: %w", err)
	}
	return n, nil
}

// eachFailed applies fn to every failed job, adminChunk jobs per commit.
// fn must move the job out of the failed state, or the loop would not end.
func (q *Queue) eachFailed(ctx context.Context, fn func(*txn, string) error) (int, error) {
	total := 0
	for {
		var n int
		err := q.submit(ctx, func(t *txn) error {
			n = 0
			sb := t.bucket(bState).Bucket([]byte(engine.JobFailed))
			if sb == nil {
				return nil
			}
			var ids []string
			c := sb.Cursor()
			for k, _ := c.First(); k != nil && len(ids) < adminChunk; k, _ = c.Next() {
				ids = append(ids, string(k))
			}
			for _, id := range ids {
				if err := fn(t, id); err != nil {
					return unreject(err) // earlier ids were written: not clean
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (t *txn) failedJob(id string) (*engine.Job, error) {
	j, err := t.getJob(id)
	if err != nil {
		return nil, reject(err)
	}
	if j == nil {
		return nil, reject(engine.ErrNotFound)
	}
	if j.State != engine.JobFailed {
		return nil, reject(fmt.Errorf("%w: job is %s", ErrNotFailed, j.State))
	}
	return j, nil
}

func (t *txn) retryFailed(id string) error {
	j, err := t.failedJob(id)
	if err != nil {
		return err
	}
	old := *j
	j.State, j.Attempt, j.Crashes = engine.JobPending, 0, 0
	j.RunAt, j.UpdatedAt = t.now, t.now
	return t.putJob(&old, j)
}

func (t *txn) forgetFailed(id string) error {
	j, err := t.failedJob(id)
	if err != nil {
		return err
	}
	return t.deleteJob(j)
}

// Stats describes the queue now. Counts come from counters kept in the
// same transactions as the jobs; the totals count since Open.
func (q *Queue) Stats(ctx context.Context) (engine.Stats, error) {
	st := engine.Stats{
		States:      map[engine.JobState]int{},
		Listeners:   map[string]map[engine.JobState]int{},
		Enqueued:    q.enqueued.Load(),
		Finished:    q.finished.Load(),
		FailedTotal: q.failedTotal.Load(),
	}
	now := q.now()
	err := q.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCounts)
		st.Events = int(counter(b, eventsKey))
		err := b.ForEach(func(k, v []byte) error {
			parts := bytes.Split(k, []byte{0})
			n := int(counter(b, k))
			switch {
			case len(parts) == 2 && string(parts[0]) == "t":
				st.States[engine.JobState(parts[1])] = n
			case len(parts) == 3 && string(parts[0]) == "l":
				l := string(parts[1])
				if st.Listeners[l] == nil {
					st.Listeners[l] = map[engine.JobState]int{}
				}
				st.Listeners[l][engine.JobState(parts[2])] = n
			}
			return nil
		})
		if err != nil {
			return err
		}
		if at := firstDue(tx); !at.IsZero() && !at.After(now) {
			st.OldestDue = at
		}
		st.FileBytes = tx.Size()
		return nil
	})
	if err != nil {
		return engine.Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}
