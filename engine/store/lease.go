package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// reclaimChunk bounds how many expired leases one Lease call takes back.
const reclaimChunk = 1000

// The lease index value of a running job whose attempt has begun (see
// Start) is when it began (8 bytes, big-endian nanos). A job leased ahead
// that never started has none, so a crash or an expired lease gives it its
// attempt back.

// Lease claims up to max due pending jobs in RunAt order, at most
// quota[l].Max of listener l, and marks them running until now +
// quota[l].LeaseFor with Attempt incremented. Before claiming it takes back
// jobs whose lease has expired: to pending (the attempt stays counted,
// LastError kind "lease"), or to failed once their tries are spent. Each
// listener's due jobs sit in their own index, so a backlog of one listener
// never costs another a scan.
func (q *Queue) Lease(ctx context.Context, max int, quota map[string]engine.Quota) ([]engine.Lease, error) {
	if !q.health.recovered.Load() {
		return nil, fmt.Errorf("lease jobs: %w", q.health.problem(q.now()))
	}
	if max <= 0 || len(quota) == 0 || !q.mayLease() {
		return nil, nil
	}
	quota = cloneQuota(quota)
	var leases []engine.Lease
	r := newRequest(ctx, func(t *txn) error {
		var err error
		leases, err = t.lease(max, quota)
		return err
	})
	r.mayBeClean = true // a lease that claims nothing costs no fsync
	if err := q.send(r); err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	if len(leases) == 0 {
		return nil, nil
	}
	// Events are never changed and not pruned while a job of theirs
	// exists, so they are read here rather than in the committer.
	err := q.db.View(func(tx *bolt.Tx) error {
		for i := range leases {
			ev, err := getEvent(tx, leases[i].Job.EventID)
			if err != nil {
				return err
			}
			leases[i].Event = ev
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	return leases, nil
}

// mayLease reports whether a job may be due or a lease may have expired
// now; when neither, Lease answers without a transaction.
func (q *Queue) mayLease() bool {
	now := nanos(q.now())
	due, lease := uint64(q.nextDue.Load()), uint64(q.firstLease.Load())
	return (due != 0 && due <= now) || (lease != 0 && lease < now)
}

func cloneQuota(quota map[string]engine.Quota) map[string]engine.Quota {
	return maps.Clone(quota)
}

type candidate struct {
	key []byte // tkey(RunAt, job id)
	id  string
}

func (t *txn) lease(max int, quota map[string]engine.Quota) ([]engine.Lease, error) {
	if err := t.reclaim(); err != nil {
		return nil, err
	}
	due := tkey(t.now, "\xff")
	var cands []candidate
	for _, name := range slices.Sorted(maps.Keys(quota)) {
		n := t.claimable(name, quota[name], max)
		lb := t.bucket(bDueL).Bucket([]byte(name))
		if n <= 0 || lb == nil {
			continue
		}
		c := lb.Cursor()
		for k, _ := c.First(); k != nil && n > 0 && bytes.Compare(k, due) <= 0; k, _ = c.Next() {
			_, id := splitTkey(k)
			cands = append(cands, candidate{key: bytes.Clone(k), id: id})
			n--
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return bytes.Compare(a.key, b.key) })
	if len(cands) > max {
		cands = cands[:max]
	}
	leases := make([]engine.Lease, 0, len(cands))
	claimed := map[string]int{}
	for _, c := range cands {
		j, err := t.getJob(c.id)
		if err != nil {
			return nil, err
		}
		if j == nil || j.State != engine.JobPending {
			continue
		}
		old := *j
		j.State = engine.JobRunning
		j.Attempt++
		j.LeaseUntil = t.now.Add(quota[j.Listener].LeaseFor)
		j.UpdatedAt = t.now
		if err := t.putJob(&old, j); err != nil {
			return nil, err
		}
		claimed[j.Listener]++
		leases = append(leases, engine.Lease{Job: *j})
	}
	for name, n := range claimed {
		if r := quota[name].Rate; !r.IsZero() {
			t.q.limiter(name, r).AllowN(t.now, n)
		}
	}
	return leases, nil
}

// claimable is how many jobs of listener name this lease may claim: the
// quota's Max, bounded by the listener's Concurrency (jobs running now
// count, this batch's claims included), its Rate's tokens, and zero while
// the listener is paused.
func (t *txn) claimable(name string, q engine.Quota, max int) int {
	n := min(q.Max, max)
	if n <= 0 || t.bucket(bPaused).Get([]byte(name)) != nil {
		return 0
	}
	if q.Concurrency > 0 {
		n = min(n, q.Concurrency-t.listenerCount(name, engine.JobRunning))
	}
	if !q.Rate.IsZero() {
		n = min(n, int(t.q.limiter(name, q.Rate).TokensAt(t.now)))
	}
	return n
}

// Start records that a leased job's attempt has begun. Until it commits,
// the attempt is not charged if the process dies or the lease runs out:
// the job was leased ahead and never ran. It returns an error wrapping
// engine.ErrLeaseLost if the job is no longer running under attempt.
func (q *Queue) Start(ctx context.Context, jobID string, attempt int) error {
	r := newRequest(ctx, func(t *txn) error { return t.start(jobID, attempt) })
	r.mayBeClean = true
	if err := q.send(r); err != nil {
		return fmt.Errorf("start job %s attempt %d: %w", jobID, attempt, err)
	}
	return nil
}

func (t *txn) start(id string, attempt int) error {
	j, err := t.getJob(id)
	if err != nil {
		return reject(err)
	}
	if j == nil {
		return reject(engine.ErrNotFound)
	}
	if j.State != engine.JobRunning || j.Attempt != attempt {
		return reject(fmt.Errorf("%w: job is %s at attempt %d", engine.ErrLeaseLost, j.State, j.Attempt))
	}
	t.wrote = true
	if j.Suspect {
		// Rewriting the job re-indexes it: before the mark, not after.
		old := *j
		j.Suspect = false
		if err := t.putJob(&old, j); err != nil {
			return err
		}
	}
	if err := t.bucket(bLease).Put(tkey(j.LeaseUntil, j.ID), u64(nanos(t.now))); err != nil {
		return fmt.Errorf("mark job %s started: %w", id, err)
	}
	return nil
}

// started reports whether running job j's attempt has begun (see Start)
// and when (zero if an earlier version marked it without a time).
func (t *txn) started(j *engine.Job) (time.Time, bool) {
	v := t.bucket(bLease).Get(tkey(j.LeaseUntil, j.ID))
	if len(v) == 8 {
		return fromNanos(binary.BigEndian.Uint64(v)), true
	}
	return time.Time{}, len(v) > 0
}

// unlease makes running job j, whose attempt never started, pending and
// due now with that attempt given back. The caller writes it.
func (t *txn) unlease(j *engine.Job) {
	j.Attempt--
	j.State, j.RunAt, j.LeaseUntil, j.UpdatedAt = engine.JobPending, t.now, time.Time{}, t.now
}

// reclaim takes back jobs whose lease ended before now: the process that
// holds them is alive (this one), so a started attempt is charged as a
// lease loss, not a crash.
func (t *txn) reclaim() error {
	var ids []string
	c := t.bucket(bLease).Cursor()
	for k, _ := c.First(); k != nil && len(ids) < reclaimChunk; k, _ = c.Next() {
		until, id := splitTkey(k)
		if !until.Before(t.now) {
			break
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := t.takeBack(id, engine.KindLease); err != nil {
			return err
		}
	}
	return nil
}

// takeBack ends running job id's lost attempt: one that never started is
// given back; one that started is charged (kind lease or crash; a crash
// also counts towards the crash limit) and recorded in the job's attempts,
// and the job is retried now or failed once its tries or crashes are spent.
func (t *txn) takeBack(id string, kind engine.ErrorKind) error {
	j, err := t.getJob(id)
	if err != nil || j == nil || j.State != engine.JobRunning {
		return err
	}
	old := *j
	startedAt, started := t.started(j)
	if !started {
		// Leased ahead, never started: the attempt is given back and the
		// loss is not the job's. After a crash the job is Suspect (its
		// start may just not have been written yet): its next start is
		// made durable before it runs, so a job that kills the process is
		// counted from then on.
		t.unlease(j)
		if kind == engine.KindCrash {
			j.Suspect = true
		}
		return t.putJob(&old, j)
	}
	e := &engine.JobError{Attempt: j.Attempt, At: t.now, Kind: kind,
		Message: fmt.Sprintf("lease expired at %s before the attempt finished", j.LeaseUntil.UTC().Format(time.RFC3339))}
	if kind == engine.KindCrash {
		j.Crashes++
		e.Message = "the process stopped while the job was running"
	}
	j.LastError, j.LeaseUntil, j.UpdatedAt = e, time.Time{}, t.now
	outcome := engine.Retry
	switch {
	case kind == engine.KindCrash && j.Crashes >= t.q.opts.CrashLimit:
		e.Message = fmt.Sprintf("crashed the process %d times", j.Crashes)
		outcome = engine.Failed
	case j.Attempt >= j.MaxTries:
		outcome = engine.Failed
	}
	var took time.Duration
	if !startedAt.IsZero() {
		took = t.now.Sub(startedAt)
	}
	j.Attempts = engine.AppendAttempt(j.Attempts, engine.Attempt{N: j.Attempt, StartedAt: startedAt,
		Duration: took, Outcome: outcome, Error: e})
	if outcome == engine.Failed {
		j.State = engine.JobFailed
		t.fx.failed++
	} else {
		j.State, j.RunAt = engine.JobPending, t.now
	}
	return t.putJob(&old, j)
}

// Finish records an attempt's result (see engine.Outcome): Succeeded →
// done, LastError cleared; Retry → pending at res.RunAt with res.Err;
// Failed → failed with res.Err; Snoozed, Interrupted and Returned →
// pending at res.RunAt with the attempt given back. Every outcome but
// Returned is appended to the job's Attempts. It returns an error wrapping
// engine.ErrLeaseLost if the job is not running under res.Attempt (its
// lease expired and it was taken back), and engine.ErrNotFound if no such
// job exists.
func (q *Queue) Finish(ctx context.Context, res engine.Result) error {
	if res.Err != nil {
		e := *res.Err
		res.Err = &e
	}
	err := q.submit(ctx, func(t *txn) error { return t.finish(res) })
	if err != nil {
		return fmt.Errorf("finish job %s attempt %d: %w", res.JobID, res.Attempt, err)
	}
	return nil
}

func (t *txn) finish(res engine.Result) error {
	j, err := t.getJob(res.JobID)
	if err != nil {
		return reject(err)
	}
	if j == nil {
		return reject(engine.ErrNotFound)
	}
	if j.State != engine.JobRunning || j.Attempt != res.Attempt {
		return reject(fmt.Errorf("%w: job is %s at attempt %d", engine.ErrLeaseLost, j.State, j.Attempt))
	}
	old := *j
	j.UpdatedAt, j.LeaseUntil = t.now, time.Time{}
	runAt := res.RunAt
	if runAt.IsZero() {
		runAt = t.now
	}
	if res.Outcome != engine.Returned {
		j.Attempts = engine.AppendAttempt(j.Attempts, engine.Attempt{N: res.Attempt, StartedAt: res.StartedAt,
			Duration: res.Duration, Outcome: res.Outcome, Error: res.Err})
	}
	switch res.Outcome {
	case engine.Succeeded:
		j.State, j.LastError = engine.JobDone, nil
		t.fx.finished++
	case engine.Retry:
		j.State, j.RunAt, j.LastError = engine.JobPending, runAt, res.Err
	case engine.Snoozed, engine.Interrupted, engine.Returned:
		j.State, j.RunAt = engine.JobPending, runAt
		j.Attempt--
	case engine.Failed:
		j.State, j.LastError = engine.JobFailed, res.Err
		t.fx.failed++
	default:
		return reject(fmt.Errorf("unknown outcome %d", res.Outcome))
	}
	return t.putJob(&old, j)
}
