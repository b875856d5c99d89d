package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// ErrNotFailed is returned (wrapped) by RetryJob and ForgetJob for a job
// that is not failed.
var ErrNotFailed = fmt.Errorf("only failed jobs can be retried or forgotten: %w", engine.ErrConflict)

// adminChunk bounds how many jobs one transaction of a bulk admin action
// touches, so it does not hold the writer for long.
const adminChunk = 1000

// defaultScan bounds how many events one filtered ListEvents examines.
const defaultScan = 10000

// ListEvents returns one page of the events qry selects, in id order
// (newest first with qry.Newest). A filtered listing examines at most
// qry.Scan events (default 10 000) and returns a Next cursor when it
// stopped there.
func (q *Queue) ListEvents(ctx context.Context, qry engine.EventQuery) (engine.EventPage, error) {
	limit := engine.PageSize(qry.Limit)
	scan := qry.Scan
	if scan <= 0 {
		scan = defaultScan
	}
	filtered := qry.Source != "" || qry.DeliveryID != "" || qry.Field != ""
	var page engine.EventPage
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		step := c.Next
		k, v := seekAfter(c, qry.After)
		if qry.Newest {
			step = c.Prev
			k, v = seekBefore(c, qry.After)
		}
		examined, last := 0, ""
		for ; k != nil; k, v = step() {
			if len(page.Events) == limit || (filtered && examined == scan) {
				page.Next = last // continue after the last event examined
				return nil
			}
			examined, last = examined+1, string(k)
			ev, err := decodeEvent(last, v)
			if err != nil {
				return err
			}
			if matchEvent(ev, qry) {
				page.Events = append(page.Events, *ev)
			}
		}
		return nil
	})
	if err != nil {
		return engine.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	return page, nil
}

// matchEvent reports whether ev passes qry's filters.
func matchEvent(ev *engine.Event, qry engine.EventQuery) bool {
	if qry.Source != "" && ev.Source != qry.Source {
		return false
	}
	if qry.DeliveryID != "" && ev.DeliveryID != qry.DeliveryID {
		return false
	}
	if qry.Field != "" {
		return engine.PayloadFieldIs(ev.Payload, qry.Field, qry.Value)
	}
	return true
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

// seekBefore positions c on the last key less than before ("" = the last
// key).
func seekBefore(c *bolt.Cursor, before string) ([]byte, []byte) {
	if before == "" {
		return c.Last()
	}
	k, _ := c.Seek([]byte(before))
	if k == nil {
		return c.Last()
	}
	return c.Prev()
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

// ListJobs returns the jobs qry selects in id (creation) order, newest
// first with qry.Newest, up to qry.Limit (default 50).
func (q *Queue) ListJobs(ctx context.Context, qry engine.JobQuery) ([]engine.Job, error) {
	limit := engine.PageSize(qry.Limit)
	var out []engine.Job
	err := q.db.View(func(tx *bolt.Tx) error {
		add := func(id string) error {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if j != nil && jobMatches(j, qry) && len(out) < limit {
				out = append(out, *j)
			}
			return nil
		}
		ids, ok, err := candidateIDs(tx, qry, limit)
		if err != nil {
			return err
		}
		if ok {
			for _, id := range ids {
				if err := add(id); err != nil {
					return err
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
		k, _ := seekAfter(c, qry.After)
		step := c.Next
		if qry.Newest {
			k, _ = seekBefore(c, qry.After)
			step = c.Prev
		}
		for ; k != nil && len(out) < limit; k, _ = step() {
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

// jobMatches reports whether j passes qry's filters.
func jobMatches(j *engine.Job, qry engine.JobQuery) bool {
	return (qry.State == "" || j.State == qry.State) &&
		(qry.Listener == "" || j.Listener == qry.Listener) &&
		(qry.EventID == "" || j.EventID == qry.EventID) &&
		errorContains(j, qry.ErrorContains)
}

func errorContains(j *engine.Job, text string) bool {
	if text == "" {
		return true
	}
	return j.LastError != nil && strings.Contains(strings.ToLower(j.LastError.Message), strings.ToLower(text))
}

// candidateIDs returns, in listing order, the ids after qry.After of the
// jobs an index can name for qry: an event's jobs, or the first limit
// pending or running jobs (of qry.Listener, if set) from the due, order
// and lease indexes. Those hold tkeys in time order, so every key is read;
// they are bounded by the queue's depth, and the running one by the
// workers. ok is false when no index applies: done jobs are most jobs, so
// a scan of the jobs in id order finds them sooner; failed ones have their
// own id-ordered index.
func candidateIDs(tx *bolt.Tx, qry engine.JobQuery, limit int) (ids []string, ok bool, err error) {
	var all []string
	switch {
	case qry.EventID != "":
		all = eventJobIDs(tx, qry.EventID)
	case qry.State == engine.JobPending:
		all = pendingIDs(tx, qry.Listener)
	case qry.State == engine.JobRunning:
		err = tx.Bucket(bLease).ForEach(func(k, _ []byte) error {
			_, id := splitTkey(k)
			if qry.Listener != "" {
				j, err := getJob(tx, id)
				if err != nil || j == nil || j.Listener != qry.Listener {
					return err
				}
			}
			all = append(all, id)
			return nil
		})
	default:
		return nil, false, nil
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if qry.Newest {
		slices.Reverse(all)
	}
	for _, id := range all {
		if qry.After != "" && ((!qry.Newest && id <= qry.After) || (qry.Newest && id >= qry.After)) {
			continue
		}
		ids = append(ids, id)
		if len(ids) == limit && qry.EventID == "" && qry.ErrorContains == "" {
			break // the index filtered by state and listener already
		}
	}
	return ids, true, err
}

// pendingIDs lists the ids of pending jobs (of listener, if set): those in
// the due indexes and the ordered ones waiting for their key.
func pendingIDs(tx *bolt.Tx, listener string) []string {
	var ids []string
	due := tx.Bucket(bDueL)
	due.ForEachBucket(func(name []byte) error {
		if listener == "" || string(name) == listener {
			due.Bucket(name).ForEach(func(k, _ []byte) error {
				_, id := splitTkey(k)
				ids = append(ids, id)
				return nil
			})
		}
		return nil
	})
	var prefix []byte
	if listener != "" {
		prefix = orderPrefix(listener, "")
		prefix = prefix[:len(prefix)-1] // the listener's part only
	}
	c := tx.Bucket(bOrder).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) >= idLen {
			ids = append(ids, string(k[len(k)-idLen:]))
		}
	}
	return ids
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

// RetryFailed does RetryJob for every failed job f selects and returns
// how many.
func (q *Queue) RetryFailed(ctx context.Context, f engine.JobFilter) (int, error) {
	n, err := q.eachFailed(ctx, f, (*txn).retryFailed)
	if err != nil {
		return n, fmt.Errorf("retry failed jobs: %w", err)
	}
	return n, nil
}

// FlushFailed deletes every failed job f selects and returns how many.
func (q *Queue) FlushFailed(ctx context.Context, f engine.JobFilter) (int, error) {
	n, err := q.eachFailed(ctx, f, (*txn).forgetFailed)
	if err != nil {
		return n, fmt.Errorf("flush failed jobs: %w", err)
	}
	return n, nil
}

// eachFailed applies fn to every failed job f selects, examining at most
// adminChunk failed jobs per commit and continuing after the last one it
// examined. fn must move the job out of the failed state.
func (q *Queue) eachFailed(ctx context.Context, f engine.JobFilter, fn func(*txn, string) error) (int, error) {
	qry := engine.JobQuery{Listener: f.Listener, ErrorContains: f.ErrorContains}
	total, after := 0, ""
	for {
		var n, examined int
		from, next := after, after
		err := q.submit(ctx, func(t *txn) error { // may run twice: derive all from from
			n, examined, next = 0, 0, from
			sb := t.bucket(bState).Bucket([]byte(engine.JobFailed))
			if sb == nil {
				return nil
			}
			var ids []string
			c := sb.Cursor()
			for k, _ := seekAfter(c, from); k != nil && examined < adminChunk; k, _ = c.Next() {
				examined++
				ids = append(ids, string(k))
			}
			for _, id := range ids {
				j, err := t.getJob(id)
				if err != nil {
					return unreject(err)
				}
				if j == nil || !jobMatches(j, qry) {
					continue
				}
				if err := fn(t, id); err != nil {
					return unreject(err) // earlier ids were written: not clean
				}
				n++
			}
			if len(ids) > 0 {
				next = ids[len(ids)-1]
			}
			return nil
		})
		total, after = total+n, next
		if err != nil || examined < adminChunk {
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
		return nil, reject(fmt.Errorf("job is %s; %w", j.State, ErrNotFailed))
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
		st.OldestDueBy = oldestDueBy(tx, now)
		for _, at := range st.OldestDueBy {
			if st.OldestDue.IsZero() || at.Before(st.OldestDue) {
				st.OldestDue = at
			}
		}
		st.Paused = pausedListeners(tx)
		st.FileBytes = tx.Size()
		return nil
	})
	if err != nil {
		return engine.Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}

// oldestDueBy returns each listener's oldest due pending job's RunAt.
func oldestDueBy(tx *bolt.Tx, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	due := tx.Bucket(bDueL)
	due.ForEachBucket(func(name []byte) error {
		k, _ := due.Bucket(name).Cursor().First()
		if at := keyTime(k); !at.IsZero() && !at.After(now) {
			out[string(name)] = at
		}
		return nil
	})
	return out
}
