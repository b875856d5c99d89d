package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/internal/startstop"
)

// Queue is what alerts read and keep their state in. engine.Queue
// implements it.
type Queue interface {
	// Stats gives depth per listener, the oldest due job per listener and
	// the paused listeners.
	Stats(ctx context.Context) (engine.Stats, error)
	// Samples gives the stored per-minute history in [from, to).
	Samples(ctx context.Context, from, to time.Time) ([]engine.Sample, error)
	// Processes lists the live processes sharing the queue: the one alive
	// the longest checks the alerts.
	Processes(ctx context.Context) ([]engine.Process, error)
	engine.KV
}

// Options configures an Alerter. Queue is required, and Mailer when a
// rule mails; HTTP when a rule posts a webhook or HeartbeatURL is set.
type Options struct {
	Queue  Queue
	Rules  []Rule
	Mailer Mailer
	HTTP   HTTPDoer
	// Listeners returns the configured listeners, which rules without a
	// listener watch besides any listener holding jobs. Nil: only those.
	Listeners func() []string
	// Interval is how often rules are checked; default 15s.
	Interval time.Duration
	// Repeat is how often a firing alert notifies again; 0: never.
	Repeat time.Duration
	// HeartbeatURL, if set, is requested every HeartbeatInterval (default
	// 1m) while the last look at the queue succeeded.
	HeartbeatURL      string
	HeartbeatInterval time.Duration
	// IsSelf tells this process in Queue.Processes; default: same host
	// name and pid.
	IsSelf func(engine.Process) bool
	Logger *slog.Logger
	Now    func() time.Time
}

// Alerter checks rules and sends notifications. New → Start → Close.
type Alerter struct {
	opts   Options
	notify notifier
	log    *slog.Logger

	healthy atomic.Bool // the last look at the queue succeeded
	life    startstop.Once
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// stateNS is the KV namespace of the firing state (the kv binding's
// namespaces are listener names).
const stateNS = "switchboard/alerts"

// New checks opts and returns an Alerter; nothing runs until Start.
func New(opts Options) (*Alerter, error) {
	if opts.Queue == nil {
		return nil, errors.New("new alerter: no queue")
	}
	for _, r := range opts.Rules {
		for _, t := range r.Targets {
			if t.Mail != "" && opts.Mailer == nil {
				return nil, fmt.Errorf("alert %q: notify %s: no mailer", r.Name, t)
			}
			if t.Mail == "" && opts.HTTP == nil {
				return nil, fmt.Errorf("alert %q: notify %s: no http client", r.Name, t)
			}
		}
	}
	if opts.HeartbeatURL != "" && opts.HTTP == nil {
		return nil, errors.New("new alerter: heartbeat_url set but no http client")
	}
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.IsSelf == nil {
		host, _ := os.Hostname()
		pid := os.Getpid()
		opts.IsSelf = func(p engine.Process) bool { return p.PID == pid && p.Host == host }
	}
	a := &Alerter{opts: opts, log: opts.Logger,
		notify: notifier{mailer: opts.Mailer, http: opts.HTTP, now: time.Now}} // receivers check signatures against their own clock
	return a, nil
}

// Start checks the rules every Interval and pings the heartbeat, until
// Close or until ctx ends. Calling it again does nothing.
func (a *Alerter) Start(ctx context.Context) {
	a.life.Start(func() {
		ctx, a.stop = context.WithCancel(ctx)
		a.wg.Add(1)
		go a.every(ctx, a.opts.Interval, func(ctx context.Context) {
			if err := a.Check(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("alerts: check failed", "err", err)
			}
		})
		if a.opts.HeartbeatURL != "" {
			a.wg.Add(1)
			go a.every(ctx, a.opts.HeartbeatInterval, a.beat)
		}
	})
}

// every runs fn now and then every d until ctx ends.
func (a *Alerter) every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	defer a.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Alerter) beat(ctx context.Context) {
	if !a.healthy.Load() {
		a.log.Warn("alerts: heartbeat skipped: the last look at the queue failed")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.notify.heartbeat(ctx, a.opts.HeartbeatURL); err != nil && ctx.Err() == nil {
		a.log.Warn("alerts: heartbeat failed", "err", err)
	}
}

// Close stops checking and waits for a check in progress. It is safe
// when Start never ran (a Start after it does nothing); later calls wait
// for the first.
func (a *Alerter) Close(context.Context) error {
	return a.life.Stop(func(started bool) error {
		if started {
			a.stop()
		}
		a.wg.Wait()
		return nil
	})
}

// Check runs one round: if this process is the one that alerts, it reads
// the queue, checks every rule and sends the notifications due.
func (a *Alerter) Check(ctx context.Context) error {
	v, lead, err := a.look(ctx)
	a.healthy.Store(err == nil)
	if err != nil || !lead {
		return err
	}
	var listeners []string
	if a.opts.Listeners != nil {
		listeners = a.opts.Listeners()
	}
	var errs []error
	for _, r := range a.opts.Rules {
		for _, l := range v.listeners(r, listeners) {
			if err := a.apply(ctx, r, l, v.check(r, l)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// look reads what the rules need and whether this process leads.
func (a *Alerter) look(ctx context.Context) (*view, bool, error) {
	procs, err := a.opts.Queue.Processes(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list processes: %w", err)
	}
	if !a.leads(procs) {
		return nil, false, nil
	}
	v := &view{now: a.opts.Now()}
	if v.stats, err = a.opts.Queue.Stats(ctx); err != nil {
		return nil, false, fmt.Errorf("queue stats: %w", err)
	}
	var window time.Duration
	for _, r := range a.opts.Rules {
		window = max(window, r.window())
	}
	if window > 0 {
		from := v.now.Add(-window).Truncate(time.Minute)
		if v.samples, err = a.opts.Queue.Samples(ctx, from, v.now.Add(time.Minute)); err != nil {
			return nil, false, fmt.Errorf("read history: %w", err)
		}
	}
	return v, true, nil
}

// leads reports whether this process is the live one that started first
// (ties broken by id). If it cannot find itself it leads: duplicate
// notifications beat silent ones.
func (a *Alerter) leads(procs []engine.Process) bool {
	var first *engine.Process
	self := false
	for i := range procs {
		p := &procs[i]
		self = self || a.opts.IsSelf(*p)
		if first == nil || p.Started.Before(first.Started) || (p.Started.Equal(first.Started) && p.ID < first.ID) {
			first = p
		}
	}
	return !self || a.opts.IsSelf(*first)
}

// firing is the stored state of one (rule, listener) that is firing.
type firing struct {
	Since    time.Time `json:"since"`
	Notified time.Time `json:"notified"`
}

func stateKey(r Rule, l string) string { return r.Name + "\x00" + l }

// apply compares a reading with the stored state and notifies on change.
func (a *Alerter) apply(ctx context.Context, r Rule, l string, rd Reading) error {
	key := stateKey(r, l)
	raw, was, err := a.opts.Queue.KVGet(ctx, stateNS, key)
	if err != nil {
		return fmt.Errorf("alert %q: read state: %w", r.Name, err)
	}
	var st firing
	if was && json.Unmarshal(raw, &st) != nil {
		was = false // unreadable state: start over
	}
	now := a.opts.Now()
	n := Notice{Alert: r.Name, Listener: l, Kind: r.Kind, Value: rd.Value, Summary: rd.Summary, Since: st.Since, At: now}
	switch {
	case rd.Firing && !was:
		n.State, n.Since = Firing, now
		st = firing{Since: now}
	case rd.Firing && a.opts.Repeat > 0 && now.Sub(st.Notified) >= a.opts.Repeat:
		n.State = Repeat
	case !rd.Firing && was:
		n.State = Recovered
	default:
		return nil
	}
	if err := a.send(ctx, r, n); err != nil {
		return err // the state is unchanged: the next round tries again
	}
	if n.State == Recovered {
		return a.opts.Queue.KVDelete(ctx, stateNS, key)
	}
	st.Notified = now
	b, _ := json.Marshal(st)
	return a.opts.Queue.KVSet(ctx, stateNS, key, b, 30*24*time.Hour)
}

// send notifies every target of r; it fails only if none took it.
func (a *Alerter) send(ctx context.Context, r Rule, n Notice) error {
	a.log.Warn("alert "+string(n.State), "alert", r.Name, "listener", n.Listener, "summary", n.Summary)
	ok := 0
	var errs []error
	for _, t := range r.Targets {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := a.notify.send(tctx, t, n)
		cancel()
		if err != nil {
			a.log.Error("alert notification failed", "alert", r.Name, "target", t.String(), "err", err)
			errs = append(errs, err)
			continue
		}
		ok++
	}
	if ok == 0 && len(errs) > 0 {
		return fmt.Errorf("alert %q %s: no target took the notification: %w", r.Name, n.State, errors.Join(errs...))
	}
	return nil
}
