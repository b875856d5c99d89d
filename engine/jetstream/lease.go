package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/switchboard/switchboard/engine"
)

// pick is a job chosen to be claimed.
type pick struct {
	e     jobEntry // snapshot
	quota engine.Quota
}

// Lease claims up to max claimable jobs, oldest RunAt first. It chooses
// them from the view and claims each with a compare-and-set on its
// record, so two processes choosing the same job claim it once. Before
// choosing it takes back jobs whose lease ended or whose process died.
func (q *Queue) Lease(ctx context.Context, max int, quota map[string]engine.Quota) ([]engine.Lease, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	if max <= 0 || len(quota) == 0 {
		return nil, nil
	}
	now := time.Now()
	if err := q.reclaim(ctx, now); err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	q.releaseLost(ctx, now)
	picks := q.choose(now, max, quota)
	if len(picks) == 0 {
		return nil, nil
	}
	// Events first: a job is claimed only once its event is in hand, so
	// no claim is stranded by a read that fails after it.
	events, err := q.eventsOf(ctx, picks)
	if err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	picks, refund, err := q.applyLimits(ctx, picks)
	if err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	// The view's pause flags may lag a pause set in another process by
	// the feed's delay; the flags on the servers are read while claiming
	// and a claim of a listener paused meanwhile is handed back.
	paused := q.pausedNow(ctx, picks)
	leases, err := q.claim(ctx, now, picks, refund)
	if err != nil && len(leases) == 0 {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	if p := <-paused; len(p) > 0 {
		leases = slices.DeleteFunc(leases, func(l engine.Lease) bool {
			if !p[l.Job.Listener] {
				return false
			}
			q.giveBack(ctx, l.Job.ID, l.Job.Attempt, now)
			return true
		})
	}
	for i := range leases {
		cp := *events[leases[i].Job.EventID]
		leases[i].Event = &cp
	}
	return leases, nil
}

// eventsOf reads the events of picks (cached), by id.
func (q *Queue) eventsOf(ctx context.Context, picks []pick) (map[string]*engine.Event, error) {
	out := make(map[string]*engine.Event, len(picks))
	var seqs []uint64
	for _, p := range picks {
		if _, ok := out[p.e.eventID]; !ok {
			out[p.e.eventID] = nil
			seq, _ := parseEventID(p.e.eventID)
			seqs = append(seqs, seq)
		}
	}
	evs, err := q.loadEvents(ctx, seqs)
	if err != nil {
		return nil, err
	}
	for i, seq := range seqs {
		if evs[i] == nil {
			return nil, fmt.Errorf("read event %s: %w", eventID(seq), engine.ErrNotFound)
		}
		out[eventID(seq)] = evs[i]
	}
	return out, nil
}

// choose takes candidates from the view: per listener in quota, not
// paused, at most min(Max, max) due jobs not held back by an older job of
// their order key; then the oldest RunAt first across listeners.
func (q *Queue) choose(now time.Time, max int, quota map[string]engine.Quota) []pick {
	v := q.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	var picks []pick
	for _, name := range slices.Sorted(maps.Keys(quota)) {
		qu := quota[name]
		n := min(qu.Max, max)
		t := v.pending[name]
		if n <= 0 || t == nil {
			continue
		}
		if _, paused := v.paused[name]; paused {
			continue
		}
		t.Ascend(func(e *jobEntry) bool {
			if e.runAt.After(now) {
				return false
			}
			if !v.heldBack(e) {
				picks = append(picks, pick{e: *e, quota: qu})
				n--
			}
			return n > 0
		})
	}
	slices.SortFunc(picks, func(a, b pick) int {
		if c := a.e.runAt.Compare(b.e.runAt); c != 0 {
			return c
		}
		if a.e.id < b.e.id {
			return -1
		}
		return 1
	})
	if len(picks) > max {
		picks = picks[:max]
	}
	return picks
}

// heldBack reports whether an older job of e's listener and order key is
// pending or running, or may exist unseen: jobs are created in stream
// order, so e is safe to run only once the events feed has passed every
// message before the one that created it.
func (v *view) heldBack(e *jobEntry) bool {
	if e.orderKey == "" {
		return false
	}
	if seq, _, ok := parseJobID(e.id); ok && v.evPos+1 < seq {
		return true
	}
	t := v.order[orderSlot(e.listener, e.orderKey)]
	if t == nil {
		return false
	}
	head, ok := t.Min()
	return ok && head.id != e.id
}

// claim makes each pick running under this process with a compare-and-set
// and returns the leases won. refund returns rate tokens not used.
func (q *Queue) claim(ctx context.Context, now time.Time, picks []pick, refund func(listener string, n int)) ([]engine.Lease, error) {
	recs := make([]*record, len(picks))
	msgs := make([]*nats.Msg, len(picks))
	for i, p := range picks {
		r := recordOf(&p.e)
		if r == nil {
			var err error
			if r, _, err = q.current(ctx, p.e.id, true); err != nil {
				return nil, err
			}
		}
		r.State, r.Attempt = engine.JobRunning, r.Attempt+1
		r.LeaseUntil, r.UpdatedAt = now.Add(p.quota.LeaseFor), now
		r.Holder, r.Started, r.Sem, r.Claim = q.proc.ID, false, p.quota.Concurrency > 0, nuid.Next()
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode job %s: %w", r.ID, err)
		}
		recs[i], msgs[i] = r, casMsg(q.n.jobSubj(r.ID), data, p.e.rev)
	}
	acks, errs := q.publishAll(ctx, msgs)
	won := map[string][]semHolder{}
	var leases []engine.Lease
	var firstErr error
	for i, p := range picks {
		if errs[i] != nil {
			refund(p.e.listener, 1)
			if !errors.Is(errs[i], errConflict) {
				// No answer: the claim may be stored, with no worker.
				q.lost.add(recs[i].Claim, recs[i].ID, recs[i].LeaseUntil)
				if firstErr == nil {
					firstErr = errs[i]
				}
			}
			continue
		}
		q.view.mu.Lock()
		q.view.applyRecord(recs[i].ID, acks[i].Sequence, recs[i])
		q.view.mu.Unlock()
		if p.quota.Concurrency > 0 {
			won[p.e.listener] = append(won[p.e.listener], semHolder{Job: recs[i].ID, Attempt: recs[i].Attempt, Rev: acks[i].Sequence})
		}
		leases = append(leases, engine.Lease{Job: recs[i].Job})
	}
	// Concurrency: the claims become semaphore holders; any the semaphore
	// has no room for (another process filled it meanwhile) are handed back.
	var undo []string
	for l, hs := range won {
		c := picks[slices.IndexFunc(picks, func(p pick) bool { return p.e.listener == l })].quota.Concurrency
		lost, err := q.semAcquire(ctx, l, c, hs)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, h := range lost {
			undo = append(undo, h.Job)
			refund(l, 1)
		}
	}
	if len(undo) > 0 {
		leases = slices.DeleteFunc(leases, func(l engine.Lease) bool {
			if !slices.Contains(undo, l.Job.ID) {
				return false
			}
			q.giveBack(ctx, l.Job.ID, l.Job.Attempt, now)
			return true
		})
	}
	return leases, firstErr
}

// lostClaims are claims whose write got no answer: stored or not, no
// worker holds them. Each is kept until its lease would end; after that
// the lease's expiry takes the job back anyway.
type lostClaims struct {
	mu     sync.Mutex
	claims []lostClaim
}

type lostClaim struct {
	claim, job string
	until      time.Time
}

func (l *lostClaims) add(claim, job string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claims = append(l.claims, lostClaim{claim, job, until})
	if n := len(l.claims); n > maxLostClaims {
		l.claims = slices.Delete(l.claims, 0, n-maxLostClaims)
	}
}

// maxLostClaims bounds the claims remembered; past it the oldest are
// dropped and wait for their lease to end.
const maxLostClaims = 4096

// releaseLost gives back, uncharged, each lost claim the view shows as
// stored (the job running under that claim, not started), so that its job
// runs now rather than when the lease ends. The view may learn of a
// stored claim late, so claims are looked at on every Lease until their
// lease would end.
func (q *Queue) releaseLost(ctx context.Context, now time.Time) {
	q.lost.mu.Lock()
	q.lost.claims = slices.DeleteFunc(q.lost.claims, func(c lostClaim) bool { return now.After(c.until) })
	claims := slices.Clone(q.lost.claims)
	q.lost.mu.Unlock()
	for _, c := range claims {
		q.view.mu.Lock()
		e := q.view.jobs[c.job]
		stranded := e != nil && e.state == engine.JobRunning && !e.started && e.rec != nil && e.rec.Claim == c.claim
		q.view.mu.Unlock()
		if !stranded {
			continue
		}
		_, err := q.update(ctx, c.job, func(r *record) error {
			if r.State != engine.JobRunning || r.Started || r.Claim != c.claim {
				return engine.ErrLeaseLost
			}
			unlease(r, now)
			return nil
		})
		if err != nil && !errors.Is(err, engine.ErrLeaseLost) {
			q.log.Debug("give back a lost claim", "job", c.job, "err", err)
		}
	}
}

// recordOf returns a copy of the record the view holds for e, or nil if
// it must be read from the servers.
func recordOf(e *jobEntry) *record {
	if e.rev == 0 {
		return implicitRecord(e)
	}
	if e.rec == nil {
		return nil
	}
	return e.rec.clone()
}

// giveBack returns a claimed attempt that will not run: pending again,
// the attempt not spent.
func (q *Queue) giveBack(ctx context.Context, id string, attempt int, now time.Time) {
	_, err := q.update(ctx, id, func(r *record) error {
		if r.State != engine.JobRunning || r.Attempt != attempt || r.Holder != q.proc.ID {
			return engine.ErrLeaseLost
		}
		unlease(r, now)
		return nil
	})
	if err != nil && !errors.Is(err, engine.ErrLeaseLost) {
		q.log.Warn("hand back job", "job", id, "err", err)
	}
}

// unlease makes running r pending and due now with its attempt given back.
func unlease(r *record, now time.Time) {
	r.Attempt--
	r.State, r.RunAt, r.LeaseUntil, r.UpdatedAt = engine.JobPending, now, time.Time{}, now
	r.Holder, r.Started, r.Sem, r.Claim = "", false, false, ""
}

// pausedNow reads, concurrently, the pause flags on the servers of the
// listeners picks belong to; the channel yields those paused (none if a
// read failed: the view already filtered by its own flags).
func (q *Queue) pausedNow(ctx context.Context, picks []pick) <-chan map[string]bool {
	out := make(chan map[string]bool, 1)
	names := map[string]bool{}
	for _, p := range picks {
		names[p.e.listener] = false
	}
	go func() {
		paused := map[string]bool{}
		for l := range names {
			if p, ok := q.pauses.get(l); ok {
				paused[l] = p
				continue
			}
			m, err := q.lastMsg(ctx, q.stStream, q.n.pauseSubj(l))
			if err != nil {
				continue
			}
			var pr pauseRec
			if m != nil && json.Unmarshal(m.Data, &pr) == nil && pr.Paused {
				paused[l] = true
			}
			q.pauses.put(l, paused[l])
		}
		out <- paused
	}()
	return out
}

// pauseCache remembers pause flags read from the servers for a short
// while: a pause set in another process holds here within that time even
// if the view's feed lags, without a read per Lease.
type pauseCache struct {
	mu sync.Mutex
	m  map[string]pauseSeen
}

type pauseSeen struct {
	paused bool
	at     time.Time
}

const pauseFresh = 250 * time.Millisecond

func (c *pauseCache) get(l string) (bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[l]
	if !ok || time.Since(s.at) > pauseFresh {
		return false, false
	}
	return s.paused, true
}

func (c *pauseCache) put(l string, paused bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]pauseSeen{}
	}
	c.m[l] = pauseSeen{paused: paused, at: time.Now()}
}
