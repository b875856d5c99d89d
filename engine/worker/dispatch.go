package worker

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// idlePoll bounds how long the dispatcher sleeps when nothing wakes it:
// a safety net, not the mechanism (Ready and NextDue are).
const idlePoll = time.Second

// unlandedPoll is how often the dispatcher looks again while outcomes
// wait to be written.
const unlandedPoll = 50 * time.Millisecond

// leaseTimeout bounds one Lease call.
const leaseTimeout = 30 * time.Second

// dispatcher is the single goroutine that leases. It alone owns the
// running counts and rate limiters, so they need no lock.
type dispatcher struct {
	p        *Pool
	jobs     chan<- engine.Lease
	finished <-chan string

	running   int
	perLis    map[string]int
	lastError time.Time
}

func newDispatcher(p *Pool, jobs chan<- engine.Lease, finished <-chan string) *dispatcher {
	return &dispatcher{p: p, jobs: jobs, finished: finished, perLis: map[string]int{}}
}

func (d *dispatcher) loop(ctx context.Context) {
	for {
		leased, wait := d.leaseOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if leased > 0 && d.running < d.capacity() {
			continue // there may be more due right now
		}
		d.sleep(ctx, wait)
		if ctx.Err() != nil {
			return
		}
	}
}

// sleep waits for a finished job, new work, the next due time, or ctx.
func (d *dispatcher) sleep(ctx context.Context, wait time.Duration) {
	if wait <= 0 || wait > idlePoll {
		wait = idlePoll
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case l := <-d.finished:
		d.release(l)
	case <-d.p.opts.Queue.Ready():
	case <-t.C:
	}
	// Collect any other completions without blocking.
	for {
		select {
		case l := <-d.finished:
			d.release(l)
		default:
			return
		}
	}
}

// capacity is how many jobs may be leased and not yet finished: one per
// worker plus the prefetched ones waiting for a worker.
func (d *dispatcher) capacity() int { return d.p.opts.Workers + d.prefetch() }

// prefetchWait is how long a prefetched job should expect to wait for a
// worker: leasing ahead pays while it saves commits between fast jobs,
// not when jobs would sit leased (and shown as running) behind slow ones.
const prefetchWait = 5 * time.Millisecond

// prefetch is how many jobs to lease ahead now: as many as the workers
// get through in prefetchWait at the recent attempt duration, at most
// Options.Prefetch; none until an attempt has been timed.
func (d *dispatcher) prefetch() int {
	avg := time.Duration(d.p.avgRun.Load())
	if avg <= 0 {
		return 0
	}
	n := int(int64(d.p.opts.Workers) * int64(prefetchWait) / int64(avg))
	return min(n, d.p.opts.Prefetch)
}

// batchMin is how many free slots make a lease worth a commit while jobs
// still wait in the buffer: half the capacity.
func (d *dispatcher) batchMin() int { return max(1, d.capacity()/2) }

func (d *dispatcher) release(listener string) {
	d.running--
	d.perLis[listener]--
}

// leaseOnce leases what the free workers and limits allow and hands it to
// the workers. It returns how many it leased and how long to wait before
// looking again if nothing else wakes the dispatcher.
func (d *dispatcher) leaseOnce(ctx context.Context) (int, time.Duration) {
	if d.p.unlanded.Load() > 0 {
		return 0, unlandedPoll // the queue is not taking writes; see Pool.unlanded
	}
	free := d.capacity() - d.running
	if free <= 0 || (free < d.batchMin() && len(d.jobs) > 0) {
		// Full, or enough jobs wait for a worker that leasing can wait
		// for more free slots: every Lease is a commit, so claiming one
		// job per finished job would make the queue's disk, not the
		// workers, the limit.
		return 0, idlePoll
	}
	quota, rateWait := d.quota(free)
	if len(quota) == 0 {
		return 0, idlePoll
	}
	now := d.p.opts.Now()
	// Stopping must not cut a lease short: a claim the queue committed
	// but this side never heard of would sit running until its lease
	// expired. Once asked, the lease is waited for; what it claimed goes
	// to the workers, who hand it back when the pool is stopping.
	leaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseTimeout)
	leases, err := d.p.opts.Queue.Lease(leaseCtx, free, quota)
	cancel()
	if err != nil {
		if !errors.Is(err, context.Canceled) && now.Sub(d.lastError) > 10*time.Second {
			d.p.opts.Logger.Error("lease jobs", "err", err)
			d.lastError = now
		}
		return 0, time.Second
	}
	for _, l := range leases {
		d.running++
		d.perLis[l.Job.Listener]++
		d.jobs <- l // buffered to capacity: never blocks while running < capacity
	}
	wait := idlePoll
	if next := d.p.opts.Queue.NextDue(); !next.IsZero() {
		wait = next.Sub(now)
		if wait <= 0 {
			// Due but not leased: held back by a limit, a pause or an
			// ordering key; a rate's next token is the soonest that can
			// change by itself.
			wait = min(idlePoll, rateWait)
		}
	}
	return len(leases), wait
}

// quota computes, per current listener, how many jobs this process may
// take now, with the limits the queue applies across processes. rateWait
// is the shortest token interval of a rate-limited listener (idlePoll if
// none): how soon such a listener may have room again.
func (d *dispatcher) quota(free int) (map[string]engine.Quota, time.Duration) {
	gen := d.p.opts.Current()
	if gen == nil {
		return nil, idlePoll
	}
	quota := make(map[string]engine.Quota, len(gen.Routes.Listeners))
	rateWait := idlePoll
	for _, l := range gen.Routes.Listeners {
		n := free
		if l.Concurrency > 0 {
			// This process's own share first; the queue applies the
			// limit across every process.
			n = min(n, l.Concurrency-d.perLis[l.Name])
		}
		if !l.Rate.IsZero() {
			rateWait = min(rateWait, max(l.Rate.Per/time.Duration(l.Rate.N), 5*time.Millisecond))
		}
		if n > 0 {
			quota[l.Name] = engine.Quota{Max: n, LeaseFor: l.Timeout + d.p.opts.LeaseGrace,
				Concurrency: l.Concurrency, Rate: l.Rate}
		}
	}
	return quota, rateWait
}
