package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/internal/startstop"
)

// Options configures a Pool.
type Options struct {
	Queue engine.Leaser
	// Current returns the generation serving now (swapped on reload): a
	// job looks up its listener and handler once, in one generation.
	Current func() *engine.Generation
	Workers int
	Logger  *slog.Logger
	// Observe, if set, is told about each attempt that ran, once its
	// outcome is recorded. Jobs handed back unrun are not attempts and are
	// not observed.
	Observe func(Observation)
	// LeaseGrace is added to a listener's timeout to get its lease.
	LeaseGrace time.Duration
	// Prefetch is at most how many jobs beyond Workers may be leased
	// ahead, so one lease transaction claims a batch. How many are leased
	// ahead follows the recent attempt duration: many for fast jobs, none
	// for slow ones (see prefetchWait). Default: max(4 × Workers, 64)
	// (measured with a no-op listener: 4 workers drained 3.8k jobs/s with
	// 16 ahead, 9.2k with 64). A prefetched job whose lease no longer
	// covers its listener's timeout when a worker takes it is handed back
	// unrun, its attempt not spent.
	Prefetch int
	// Now is for tests.
	Now func() time.Time
}

// Observation describes one attempt that ran.
type Observation struct {
	Listener string
	Outcome  engine.Outcome
	Duration time.Duration // how long it ran
	Wait     time.Duration // from the job being due to the attempt starting
}

// Pool leases and runs jobs until stopped.
type Pool struct {
	opts Options

	// runCtx is every attempt's parent: cancelled when Stop's deadline
	// passes, interrupting whatever still runs.
	runCtx    context.Context
	cancelRun context.CancelFunc

	// avgRun is a moving average of attempt durations in nanoseconds
	// (0 until one is timed); the dispatcher sizes prefetching by it.
	avgRun atomic.Int64
	// unlanded counts outcomes whose write failed and is being retried:
	// while any waits, nothing new is leased (the queue cannot take the
	// outcomes it has, and a lease would take back their expired claims
	// before they land).
	unlanded atomic.Int32

	// recordCtx bounds outcome writes that keep failing (a full disk):
	// cancelled only when Stop's deadline has passed.
	recordCtx     context.Context
	abandonRecord context.CancelFunc

	stopLease context.CancelFunc
	done      chan struct{}  // closed when the dispatcher, workers and outcome writes are done
	recording sync.WaitGroup // outcome writes in flight
	life      startstop.Once
}

// New returns a Pool; Start begins leasing.
func New(opts Options) *Pool {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LeaseGrace == 0 {
		opts.LeaseGrace = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Prefetch <= 0 {
		opts.Prefetch = max(4*opts.Workers, 64)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	recordCtx, abandon := context.WithCancel(context.Background())
	return &Pool{opts: opts, runCtx: runCtx, cancelRun: cancel, recordCtx: recordCtx, abandonRecord: abandon,
		done: make(chan struct{})}
}

// Start launches the dispatcher and the workers. ctx bounds leasing only:
// when it ends the pool stops taking jobs, as with Stop.
func (p *Pool) Start(ctx context.Context) {
	p.life.Start(func() {
		leaseCtx, cancel := context.WithCancel(ctx)
		p.stopLease = cancel
		capacity := p.opts.Workers + p.opts.Prefetch
		jobs := make(chan engine.Lease, capacity)
		finished := make(chan string, capacity)
		var wg sync.WaitGroup
		for range p.opts.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for lease := range jobs {
					if leaseCtx.Err() != nil {
						// Stopping: a prefetched job that has not
						// started goes back unrun, its attempt not
						// spent, instead of holding up shutdown.
						p.handBack(lease.Job, 0, "stopping")
					} else {
						p.execute(lease)
					}
					finished <- lease.Job.Listener
				}
			}()
		}
		go func() {
			d := newDispatcher(p, jobs, finished)
			d.loop(leaseCtx)
			close(jobs)
			// Drain completions so workers never block while finishing.
			go func() {
				for range finished {
				}
			}()
			wg.Wait()
			close(finished)
			p.recording.Wait()
			close(p.done)
		}()
	})
}

// Stop stops leasing, waits for running jobs until ctx ends, then
// interrupts them and waits for their outcome to be recorded. Safe to call
// more than once, and before Start.
func (p *Pool) Stop(ctx context.Context) error {
	return p.life.Stop(func(started bool) error {
		defer p.abandonRecord()
		defer p.cancelRun()
		if !started {
			return nil
		}
		p.stopLease()
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
		}
		p.cancelRun()
		// Interrupted attempts record their outcome promptly; one that
		// keeps failing (a full disk) is given up on after a moment.
		t := time.AfterFunc(5*time.Second, p.abandonRecord)
		<-p.done
		t.Stop()
		return fmt.Errorf("stop workers: %w; running jobs were interrupted", ctx.Err())
	})
}

// execute runs one attempt and records its outcome.
func (p *Pool) execute(lease engine.Lease) {
	job := lease.Job
	log := p.jobLog(job)
	l, h := p.opts.Current().Listener(job.Listener)
	if l == nil || h == nil {
		// Removed by a reload after the lease: keep the job for when it
		// returns, without spending its attempt.
		p.handBack(job, time.Minute, "listener not configured")
		return
	}
	if left := job.LeaseUntil.Sub(p.opts.Now()); !job.LeaseUntil.IsZero() && left < l.Timeout {
		if left <= 0 {
			// The lease ended while the job waited: the queue takes it
			// back, and its attempt number may already be a new claim's.
			log.Warn("prefetched job dropped: its lease ended before a worker took it")
			return
		}
		// Waited in the prefetch buffer too long: the lease could end
		// mid-run and the job run twice at once.
		p.handBack(job, 0, "lease too short")
		return
	}
	if !p.markStarted(log, job) {
		return
	}
	ctx, cancel := context.WithTimeout(p.runCtx, l.Timeout)
	defer cancel()
	inv := &engine.Invocation{Ctx: ctx, Event: lease.Event, Job: &job, Logger: log}
	start := p.opts.Now()
	err := h.Run(ctx, inv)
	elapsed := p.opts.Now().Sub(start)
	p.timed(elapsed)
	ending := engine.Classify(err, ctx.Err(), l.Timeout, p.runCtx.Err() != nil)
	res := ending.Result(&job, l.Backoff, p.opts.Now())
	res.StartedAt, res.Duration = start, elapsed
	logOutcome(log, res, &job)
	p.finish(log, job.Listener, res, max(start.Sub(job.RunAt), 0))
}

// logOutcome logs how an attempt ended.
func logOutcome(log *slog.Logger, res engine.Result, job *engine.Job) {
	switch res.Outcome {
	case engine.Succeeded:
		log.Debug("job done", "took", res.Duration)
	case engine.Snoozed:
		log.Info("job snoozed", "until", res.RunAt)
	case engine.Interrupted:
		log.Info("job interrupted by shutdown; it runs again", "until", res.RunAt)
	case engine.Retry:
		log.Warn("job attempt failed", "err", res.Err.Message, "kind", res.Err.Kind, "retry_at", res.RunAt, "tries", job.MaxTries)
	case engine.Failed:
		log.Error("job failed", "err", res.Err.Message, "kind", res.Err.Kind, "tries", job.MaxTries)
	}
}

// markStarted records that job's attempt begins, so that a crash from
// now on charges it. A first try does not wait for the record: it rides
// the next commit, and until then a crash gives the attempt back, which
// is right for the jobs leased ahead that had not started. A job that
// failed or was cut off before (LastError), or was held by a process that
// died (Suspect), waits for the record to be durable, so a job that takes
// the process down within that window is still charged and ends failed
// after its crashes instead of crashing the process forever. It reports
// whether the job may run.
func (p *Pool) markStarted(log *slog.Logger, job engine.Job) bool {
	if job.LastError == nil && !job.Suspect {
		p.recording.Add(1)
		go func() {
			defer p.recording.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// A lost lease surfaces again when the outcome is recorded.
			if err := p.opts.Queue.Start(ctx, job.ID, job.Attempt); err != nil && !errors.Is(err, engine.ErrLeaseLost) {
				log.Warn("record job start", "err", err)
			}
		}()
		return true
	}
	ctx, cancel := context.WithTimeout(p.runCtx, 30*time.Second)
	defer cancel()
	err := p.opts.Queue.Start(ctx, job.ID, job.Attempt)
	switch {
	case err == nil:
		return true
	case errors.Is(err, engine.ErrLeaseLost):
		log.Warn("job not run: its lease was taken back", "err", err)
	default:
		log.Error("record job start; handing the job back", "err", err)
		p.handBack(job, 0, "start not recorded")
	}
	return false
}

// timed folds one attempt's duration into avgRun (weight 1/8).
func (p *Pool) timed(d time.Duration) {
	for {
		old := p.avgRun.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/8
		}
		if p.avgRun.CompareAndSwap(old, max(next, 1)) {
			return
		}
	}
}

// jobLog is the logger of one attempt of job.
func (p *Pool) jobLog(job engine.Job) *slog.Logger {
	return p.opts.Logger.With("listener", job.Listener, "event", job.EventID, "job", job.ID, "attempt", job.Attempt)
}

// handBack returns a leased job that never started to pending, due after
// wait, without spending its attempt (outcome Returned).
func (p *Pool) handBack(job engine.Job, wait time.Duration, why string) {
	log := p.jobLog(job)
	log.Debug("job handed back unrun", "why", why)
	p.finish(log, job.Listener, engine.Result{JobID: job.ID, Attempt: job.Attempt, Outcome: engine.Returned,
		RunAt: p.opts.Now().Add(wait)}, 0)
}

// finish records an attempt's outcome without holding up the worker: the
// queue commits outcomes that arrive together in one transaction, so
// workers that wait for their own would serialise on the disk. A lost
// outcome (crash before the commit) only means the job runs again.
func (p *Pool) finish(log *slog.Logger, listener string, res engine.Result, wait time.Duration) {
	p.recording.Add(1)
	go func() {
		defer p.recording.Done()
		if !p.record(log, res) || p.opts.Observe == nil || res.Outcome == engine.Returned {
			return
		}
		p.opts.Observe(Observation{Listener: listener, Outcome: res.Outcome, Duration: res.Duration, Wait: wait})
	}()
}

// record writes res to the queue, retrying a write that fails (a full or
// failing disk) until it lands, so that a finished job is not run again
// once the disk recovers. It gives up when the lease is lost or the pool
// has stopped and its deadline has passed. It reports whether res landed.
func (p *Pool) record(log *slog.Logger, res engine.Result) bool {
	backoff := 50 * time.Millisecond
	var lastLog time.Time
	counted := false
	defer func() {
		if counted {
			p.unlanded.Add(-1)
		}
	}()
	for {
		// Each try has its own bound; the loop outlives shutdown's
		// interrupt, not its deadline.
		ctx, cancel := context.WithTimeout(p.recordCtx, 30*time.Second)
		err := p.opts.Queue.Finish(ctx, res)
		cancel()
		switch {
		case err == nil:
			return true
		case errors.Is(err, engine.ErrLeaseLost), errors.Is(err, engine.ErrNotFound):
			log.Warn("job outcome discarded: lease was taken back", "outcome", res.Outcome, "err", err)
			return false
		case errors.Is(err, engine.ErrClosed) || p.recordCtx.Err() != nil:
			log.Error("job outcome not recorded; the job runs again after restart", "outcome", res.Outcome, "err", err)
			return false
		}
		if !counted {
			counted = true
			p.unlanded.Add(1)
		}
		if time.Since(lastLog) > 10*time.Second {
			log.Error("record job outcome; retrying until it lands", "outcome", res.Outcome, "err", err)
			lastLog = time.Now()
		}
		select {
		case <-time.After(backoff):
		case <-p.recordCtx.Done():
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
