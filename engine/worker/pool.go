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
	"golang.org/x/time/rate"
)

// Runner runs one attempt of a listener's script.
type Runner interface {
	// Run returns nil when the listener finished, *engine.SnoozeError or
	// *engine.CancelError when the script asked for them, an error
	// wrapping ctx.Err() when ctx ended first, and any other error when
	// the script threw. Errors with a StackTrace() string method carry the
	// script's stack into the job's record.
	Run(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error
}

// Options configures a Pool.
type Options struct {
	Queue   engine.Leaser
	Routes  func() *engine.Routes // the current listeners (swapped on reload)
	Runner  Runner
	Workers int
	Logger  *slog.Logger
	// Observe, if set, is told each attempt's outcome and duration.
	Observe func(listener string, o engine.Outcome, d time.Duration)
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

	stopLease context.CancelFunc
	done      chan struct{}  // closed when the dispatcher, workers and outcome writes are done
	recording sync.WaitGroup // outcome writes in flight
	startOnce sync.Once
	stopOnce  sync.Once
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
	return &Pool{opts: opts, runCtx: runCtx, cancelRun: cancel, done: make(chan struct{})}
}

// Start launches the dispatcher and the workers. ctx bounds leasing only:
// when it ends the pool stops taking jobs, as with Stop.
func (p *Pool) Start(ctx context.Context) {
	p.startOnce.Do(func() {
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
						p.handBack(lease.Job, "stopping")
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
	var err error
	p.stopOnce.Do(func() {
		started := false
		p.startOnce.Do(func() { close(p.done) }) // never started: nothing to wait for
		if p.stopLease != nil {
			started = true
			p.stopLease()
		}
		if !started {
			p.cancelRun()
			return
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			err = fmt.Errorf("stop workers: %w; interrupting running jobs", ctx.Err())
			p.cancelRun()
			<-p.done
		}
		p.cancelRun()
	})
	return err
}

// execute runs one attempt and records its outcome.
func (p *Pool) execute(lease engine.Lease) {
	job := lease.Job
	log := p.jobLog(job)
	l := p.opts.Routes().Listener(job.Listener)
	if l == nil {
		// Removed by a reload after the lease: keep the job for when it returns.
		p.finish(log, job.Listener, engine.Result{JobID: job.ID, Attempt: job.Attempt, Outcome: engine.Snoozed,
			RunAt: p.opts.Now().Add(time.Minute)}, 0)
		return
	}
	if left := job.LeaseUntil.Sub(p.opts.Now()); !job.LeaseUntil.IsZero() && left < l.Timeout {
		// Waited in the prefetch buffer too long: the lease could end
		// mid-run and the job run twice at once.
		p.handBack(job, "lease too short")
		return
	}
	if !p.markStarted(log, job) {
		return
	}
	ctx, cancel := context.WithTimeout(p.runCtx, l.Timeout)
	defer cancel()
	inv := &engine.Invocation{Ctx: ctx, Event: lease.Event, Job: &job, Logger: log}
	start := time.Now()
	err := p.opts.Runner.Run(ctx, l, inv)
	elapsed := time.Since(start)
	p.timed(elapsed)
	res := p.outcome(l, &job, err, ctx)
	switch res.Outcome {
	case engine.Succeeded:
		log.Debug("job done", "took", elapsed)
	case engine.Snoozed:
		log.Info("job snoozed", "until", res.RunAt, "reason", err)
	case engine.Retry:
		log.Warn("job attempt failed", "err", res.Err.Message, "retry_at", res.RunAt, "tries", job.MaxTries)
	case engine.Failed:
		log.Error("job failed", "err", res.Err.Message, "kind", res.Err.Kind, "tries", job.MaxTries)
	}
	p.finish(log, job.Listener, res, elapsed)
}

// markStarted records that job's attempt begins, so that a crash from
// now on charges it. A first try does not wait for the record: it rides
// the next commit, and until then a crash gives the attempt back, which
// is right for the jobs leased ahead that had not started. A job that
// failed or was cut off before waits for the record to be durable, so a
// job that takes the process down within that window is still charged and
// ends failed after its tries instead of crashing the process forever. It
// reports whether the job may run.
func (p *Pool) markStarted(log *slog.Logger, job engine.Job) bool {
	if job.LastError == nil {
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
		p.handBack(job, "start not recorded")
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

// handBack returns a leased job that never started to pending, due now,
// without spending its attempt.
func (p *Pool) handBack(job engine.Job, why string) {
	log := p.jobLog(job)
	log.Debug("job handed back unrun", "why", why)
	p.finish(log, job.Listener, engine.Result{JobID: job.ID, Attempt: job.Attempt, Outcome: engine.Snoozed,
		RunAt: p.opts.Now()}, 0)
}

// outcome maps a Run error to what the queue should do with the job.
func (p *Pool) outcome(l *engine.Listener, job *engine.Job, err error, ctx context.Context) engine.Result {
	now := p.opts.Now()
	res := engine.Result{JobID: job.ID, Attempt: job.Attempt}
	if err == nil {
		res.Outcome = engine.Succeeded
		return res
	}
	var snooze *engine.SnoozeError
	var cancelled *engine.CancelError
	jobErr := &engine.JobError{Attempt: job.Attempt, At: now, Kind: "error", Message: err.Error()}
	var st interface{ StackTrace() string }
	if errors.As(err, &st) {
		jobErr.Stack = st.StackTrace()
	}
	switch {
	case errors.As(err, &snooze):
		res.Outcome, res.RunAt = engine.Snoozed, now.Add(snooze.After)
		return res
	case p.runCtx.Err() != nil:
		// Interrupted by shutdown: not the listener's fault, not an attempt.
		res.Outcome, res.RunAt = engine.Snoozed, now
		return res
	case errors.As(err, &cancelled):
		jobErr.Kind = "cancel"
		res.Outcome, res.Err = engine.Failed, jobErr
		return res
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		jobErr.Kind = "timeout"
		jobErr.Message = fmt.Sprintf("listener timed out after %s", l.Timeout)
	}
	res.Err = jobErr
	if job.Attempt >= job.MaxTries {
		res.Outcome = engine.Failed
		return res
	}
	res.Outcome, res.RunAt = engine.Retry, now.Add(l.Backoff.After(job.Attempt))
	return res
}

// finish records an attempt's outcome without holding up the worker: the
// queue commits outcomes that arrive together in one transaction, so
// workers that wait for their own would serialise on the disk. A lost
// outcome (crash before the commit) only means the job runs again.
func (p *Pool) finish(log *slog.Logger, listener string, res engine.Result, elapsed time.Duration) {
	p.recording.Add(1)
	go func() {
		defer p.recording.Done()
		p.record(log, listener, res, elapsed)
	}()
}

func (p *Pool) record(log *slog.Logger, listener string, res engine.Result, elapsed time.Duration) {
	// Recording the outcome must survive shutdown's interrupt.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.opts.Queue.Finish(ctx, res); err != nil {
		if errors.Is(err, engine.ErrLeaseLost) {
			log.Warn("job outcome discarded: lease was taken back", "outcome", res.Outcome)
			return
		}
		log.Error("record job outcome", "err", err)
		return
	}
	if p.opts.Observe != nil {
		p.opts.Observe(listener, res.Outcome, elapsed)
	}
}

// limiter pairs a listener's rate with its token bucket so a reload that
// changes the rate gets a new bucket.
type limiter struct {
	rate engine.Rate
	lim  *rate.Limiter
}
