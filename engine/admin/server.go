package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/history"
)

// Store is what the admin port needs from the queue: every method is one
// of engine.Queue's, with the contract documented there, so the console
// works the same on every backend.
type Store interface {
	// ListEvents returns one page of the events q selects.
	ListEvents(ctx context.Context, q engine.EventQuery) (engine.EventPage, error)
	// GetEvent returns an event and its jobs, or an error wrapping
	// engine.ErrNotFound.
	GetEvent(ctx context.Context, id string) (*engine.Event, []engine.Job, error)
	// ListJobs returns the jobs q selects.
	ListJobs(ctx context.Context, q engine.JobQuery) ([]engine.Job, error)
	// GetJob returns one job, or an error wrapping engine.ErrNotFound.
	GetJob(ctx context.Context, id string) (*engine.Job, error)
	// RetryJob makes a failed job pending again, due now, with fresh tries.
	RetryJob(ctx context.Context, id string) error
	// ForgetJob deletes a failed job.
	ForgetJob(ctx context.Context, id string) error
	// RetryFailed retries every failed job f selects and returns how many.
	RetryFailed(ctx context.Context, f engine.JobFilter) (int, error)
	// FlushFailed deletes every failed job f selects and returns how many.
	FlushFailed(ctx context.Context, f engine.JobFilter) (int, error)
	// Stats describes the queue now (fast: counters, not scans).
	Stats(ctx context.Context) (engine.Stats, error)
	// Ping returns nil if the store can take writes.
	Ping(ctx context.Context) error
	// SetPaused pauses or resumes a listener for every process.
	SetPaused(ctx context.Context, listener string, paused bool) error
	// Samples returns the stored per-minute history in [from, to).
	Samples(ctx context.Context, from, to time.Time) ([]engine.Sample, error)
	// Audit durably appends an operator action.
	Audit(ctx context.Context, e engine.AuditEntry) error
	// ListAudit returns up to limit entries older than before, newest first.
	ListAudit(ctx context.Context, limit int, before time.Time) ([]engine.AuditEntry, error)
	// Processes lists the live processes sharing the queue.
	Processes(ctx context.Context) ([]engine.Process, error)
}

// ReloadStatus is the result of the last attempt to load config and
// scripts. At is zero until the first load.
type ReloadStatus struct {
	At time.Time `json:"at,omitzero"`
	OK bool      `json:"ok"`
	// Error says why the last reload was refused, naming file:line or the
	// config key; empty when OK.
	Error string `json:"error,omitempty"`
	// Listeners are the names of the listeners serving now (after a
	// refused reload, those of the last good version).
	Listeners []string `json:"listeners"`
	// NeedsRestart names changed settings a reload cannot apply, such as
	// "server.listen".
	NeedsRestart []string `json:"needsRestart,omitempty"`
}

// Options configures a Server. Store and Token are required.
type Options struct {
	Store Store
	// Token is the admin token: a bearer token, the password of a Basic
	// login, or what the console's login form takes.
	Token string
	// Replay creates new jobs for every current listener that hears the
	// event and returns their ids. Nil makes replay answer 503.
	// Like the Store's, its errors name the event and what failed.
	Replay func(ctx context.Context, eventID string) ([]string, error)
	// Status reports the last reload. Nil means scripts are never
	// reported as loaded.
	Status func() ReloadStatus
	// Routes returns the listeners serving now. Nil shows none.
	Routes func() *engine.Routes
	// KV serves GET /api/kv/{ns}/{key} (reads only); nil answers 503.
	KV engine.KV
	// Metrics is exposed on /metrics; nil makes a fresh set.
	Metrics *Metrics
	// History, if set, holds this process's samples not flushed yet; the
	// charts add them so the current minute shows at once.
	History *history.Recorder
	// SessionTTL is how long a console login lasts; default 12h.
	SessionTTL time.Duration
	// Logger receives server-side failures and operator actions; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Server serves the admin API, the console and metrics.
type Server struct {
	opts     Options
	token    [32]byte // SHA-256 of the token, compared in constant time
	metrics  *Metrics
	log      *slog.Logger
	sessions *sessions
	logins   *loginLimiter
	charts   *chartCache
	handler  http.Handler
	srv      *http.Server

	// warm reads the day's chart history once Serve starts (see
	// warmCharts); Shutdown stops it and waits for it.
	warm struct {
		once    sync.Once
		started atomic.Bool
		ctx     context.Context
		stop    context.CancelFunc
		done    chan struct{}
	}
}

// New checks opts and builds a Server; nothing listens until Serve.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("new admin server: no store")
	}
	if opts.Token == "" {
		return nil, errors.New("new admin server: admin.token is empty")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	s := &Server{opts: opts, token: hashToken(opts.Token), metrics: opts.Metrics, log: opts.Logger,
		sessions: newSessions(opts.SessionTTL), logins: newLoginLimiter(), charts: newChartCache()}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics.setStats(opts.Store.Stats, s.listenerNames)
	s.warm.ctx, s.warm.stop = context.WithCancel(context.Background())
	s.warm.done = make(chan struct{})
	s.handler = s.routes()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler returns the server's routes, for tests and for mounting.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until Shutdown and closes ln; it returns
// nil after a Shutdown (also one that came first) and the accept error
// otherwise.
func (s *Server) Serve(ln net.Listener) error {
	s.warm.once.Do(func() {
		s.warm.started.Store(true)
		go func() {
			defer close(s.warm.done)
			s.warmCharts(s.warm.ctx)
		}()
	})
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx ends, for
// requests in flight. It is safe to call more than once and before Serve.
func (s *Server) Shutdown(ctx context.Context) error {
	s.warm.stop()
	s.warm.once.Do(func() {}) // a Serve after Shutdown warms nothing
	if s.warm.started.Load() {
		select {
		case <-s.warm.done:
		case <-ctx.Done():
		}
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down admin server: %w", err)
	}
	return nil
}

// routes builds the mux. Only the probes, the console's static files and
// the login form are open; every other route needs the token (see auth.go
// for which credentials may change state).
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.reader(s.metrics.handler()))
	mux.HandleFunc("GET /{$}", s.handleConsole)
	mux.Handle("GET /assets/", s.assets())
	mux.HandleFunc("GET /favicon.ico", s.handleFavicon)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.Handle("POST /logout", s.writer(http.HandlerFunc(s.handleLogout)))
	mux.HandleFunc("GET /api/session", s.handleSession)

	get := func(pattern string, h http.HandlerFunc) { mux.Handle("GET "+pattern, s.reader(h)) }
	act := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.writer(h)) }
	get("/api/events", s.handleListEvents)
	get("/api/events/{id}", s.handleGetEvent)
	act("POST /api/events/{id}/replay", s.handleReplay)
	get("/api/jobs", s.handleListJobs)
	get("/api/jobs/{id}", s.handleGetJob)
	act("POST /api/jobs/{id}/retry", s.handleRetryJob)
	act("DELETE /api/jobs/{id}", s.handleForgetJob)
	act("POST /api/failed/retry", s.handleRetryFailed)
	act("DELETE /api/failed", s.handleFlushFailed)
	get("/api/listeners", s.handleListListeners)
	get("/api/listeners/{name}", s.handleGetListener)
	get("/api/listeners/{name}/script", s.handleListenerScript)
	act("POST /api/listeners/{name}/pause", s.handlePause(true))
	act("POST /api/listeners/{name}/resume", s.handlePause(false))
	get("/api/stats", s.handleStats)
	get("/api/history", s.handleHistory)
	get("/api/processes", s.handleProcesses)
	get("/api/audit", s.handleAudit)
	get("/api/config/status", s.handleConfigStatus)
	get("/api/kv/{ns}/{key}", s.handleKVGet)
	// Anything else: authenticate first, so unknown paths do not reveal
	// which routes exist to callers without the token.
	mux.Handle("/", s.reader(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, engine.ErrNotFound))
	})))
	return securityHeaders(limitBody(mux))
}

// limitBody caps request bodies: only the login form has one.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

// consoleCSP allows nothing but the console's own files: no inline
// script or style, no other origin, no frames, no plugins.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets headers every answer carries. JSON answers get the
// same CSP as pages: opened directly in a tab they run nothing either.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// same-origin, not no-referrer: under no-referrer a browser sends
		// "Origin: null" even to its own origin, and the CSRF check reads
		// Origin.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
