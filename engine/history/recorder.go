package history

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/internal/startstop"
)

// Sink stores samples. engine.Queue implements it.
type Sink interface {
	// AddSamples merges samples into the stored history; samples of the
	// same minute and series add up.
	AddSamples(ctx context.Context, samples []engine.Sample) error
}

// Options configures a Recorder. Sink is required.
type Options struct {
	Sink Sink
	// Every is how often pending samples are flushed; default 5s.
	Every time.Duration
	// MaxPending bounds the (minute, series) pairs held between flushes;
	// observations of new pairs beyond it are dropped and counted (see
	// Dropped). Default 10 000: far more than one flush holds, so it only
	// bites when the sink has been failing for a long time.
	MaxPending int
	// Logger receives flush failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type key struct {
	minute int64 // unix seconds of the minute's start
	series string
}

// Recorder aggregates observations into per-minute samples. Its methods
// are safe for concurrent use, and do nothing on a nil *Recorder.
type Recorder struct {
	opts    Options
	mu      sync.Mutex
	pending map[key]*engine.Sample
	dropped uint64

	flushMu sync.Mutex // one flush at a time
	life    startstop.Once
	stop    context.CancelFunc
	done    chan struct{}
}

// New returns a Recorder; it flushes only once Start runs (or on Flush).
func New(opts Options) (*Recorder, error) {
	if opts.Sink == nil {
		return nil, fmt.Errorf("new history recorder: no sink")
	}
	if opts.Every <= 0 {
		opts.Every = 5 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Recorder{opts: opts, pending: map[key]*engine.Sample{}}, nil
}

// ObserveAttempt records one finished attempt of listener: how it ended,
// how long it waited from its job becoming due to its start (a negative
// wait: unknown, not recorded), and how long it ran. Returned attempts
// (handed back unrun) are not recorded.
func (r *Recorder) ObserveAttempt(listener string, o engine.Outcome, wait, runtime time.Duration) {
	if r == nil || o == engine.Returned {
		return
	}
	r.add(engine.JobSeries(listener), func(s *engine.Sample) {
		s.Count++
		if o == engine.Retry || o == engine.Failed {
			s.Failed++
		}
		s.Runtime.Observe(runtime)
		if wait >= 0 {
			s.Wait.Observe(wait)
		}
	})
}

// ObserveWebhook records one webhook request of source answered with code.
func (r *Recorder) ObserveWebhook(source string, code int) {
	if r == nil {
		return
	}
	r.add(engine.WebhookSeries(source, code), func(s *engine.Sample) { s.Count++ })
}

func (r *Recorder) add(series string, fn func(*engine.Sample)) {
	minute := r.opts.Now().UTC().Truncate(time.Minute)
	k := key{minute: minute.Unix(), series: series}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.pending[k]
	if !ok {
		if len(r.pending) >= r.opts.MaxPending {
			r.dropped++
			return
		}
		s = &engine.Sample{Minute: minute, Series: series}
		r.pending[k] = s
	}
	fn(s)
}

// Dropped is how many observations were dropped because MaxPending
// samples were already waiting.
func (r *Recorder) Dropped() uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Pending returns a copy of the samples not flushed yet, ordered by
// minute then series: the console adds them to what the queue returns, so
// the current minute shows before its first flush.
func (r *Recorder) Pending() []engine.Sample {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	out := make([]engine.Sample, 0, len(r.pending))
	for _, s := range r.pending {
		out = append(out, *s)
	}
	r.mu.Unlock()
	sortSamples(out)
	return out
}

func sortSamples(s []engine.Sample) {
	slices.SortFunc(s, func(a, b engine.Sample) int {
		if c := a.Minute.Compare(b.Minute); c != 0 {
			return c
		}
		return strings.Compare(a.Series, b.Series)
	})
}

// Flush hands every pending sample to the sink. On failure the samples
// are kept (merged with what arrived meanwhile) for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	taken := r.pending
	r.pending = make(map[key]*engine.Sample, len(taken))
	r.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	batch := make([]engine.Sample, 0, len(taken))
	for _, s := range taken {
		batch = append(batch, *s)
	}
	sortSamples(batch)
	if err := r.opts.Sink.AddSamples(ctx, batch); err != nil {
		r.putBack(taken)
		return fmt.Errorf("flush %d history samples: %w", len(batch), err)
	}
	return nil
}

// putBack merges samples a failed flush took back into pending.
func (r *Recorder) putBack(taken map[key]*engine.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, s := range taken {
		if cur, ok := r.pending[k]; ok {
			cur.Add(*s)
			continue
		}
		if len(r.pending) >= r.opts.MaxPending {
			r.dropped += s.Count
			continue
		}
		r.pending[k] = s
	}
}

// Start flushes every Options.Every until Close or until ctx ends.
// Calling it again does nothing.
func (r *Recorder) Start(ctx context.Context) {
	if r == nil {
		return
	}
	r.life.Start(func() {
		ctx, r.stop = context.WithCancel(ctx)
		r.done = make(chan struct{})
		go r.loop(ctx)
	})
}

func (r *Recorder) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.opts.Logger.Warn("history flush failed; keeping the samples for the next flush", "err", err)
			}
		}
	}
}

// Close stops the flush loop and flushes what is pending, until ctx ends.
// It is safe when Start never ran (a Start after it does nothing); later
// calls wait for the first and return its error.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.life.Stop(func(started bool) error {
		if started {
			r.stop()
			<-r.done
		}
		return r.Flush(ctx)
	})
}
