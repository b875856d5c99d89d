package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Store is what the admin API needs from the queue. Every queue backend
// implements it (see engine.Queue for each method's contract).
type Store interface {
	ListEvents(ctx context.Context, q engine.EventQuery) (engine.EventPage, error)
	GetEvent(ctx context.Context, id string) (*engine.Event, []engine.Job, error)
	ListJobs(ctx context.Context, q engine.JobQuery) ([]engine.Job, error)
	GetJob(ctx context.Context, id string) (*engine.Job, error)
	RetryJob(ctx context.Context, id string) error
	RetryFailed(ctx context.Context, f engine.JobFilter) (int, error)
	ForgetJob(ctx context.Context, id string) error
	FlushFailed(ctx context.Context, f engine.JobFilter) (int, error)
	Stats(ctx context.Context) (engine.Stats, error)
	Ping(ctx context.Context) error
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
	// Token is the admin bearer token.
	Token string
	// Replay creates new jobs for every current listener that hears the
	// event and returns their ids. Nil makes replay answer 503.
	// Like the Store's, its errors name the event and what failed.
	Replay func(ctx context.Context, eventID string) ([]string, error)
	// Status reports the last reload. Nil means scripts are never
	// reported as loaded.
	Status func() ReloadStatus
	// Routes returns the listeners serving now, for stats and the
	// dashboard. Nil shows none.
	Routes func() *engine.Routes
	// KV serves GET /api/kv/{ns}/{key} (reads only); nil answers 503.
	KV engine.KV
	// Metrics is exposed on /metrics; nil makes a fresh set.
	Metrics *Metrics
	// Logger receives server-side failures; nil means slog.Default().
	Logger *slog.Logger
}

// Server serves the admin API, dashboard and metrics.
type Server struct {
	opts    Options
	token   [32]byte // SHA-256 of the token, compared in constant time
	metrics *Metrics
	log     *slog.Logger
	handler http.Handler
	srv     *http.Server
}

// New checks opts and builds a Server; nothing listens until Serve.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("new admin server: no store")
	}
	if opts.Token == "" {
		return nil, errors.New("new admin server: admin.token is empty")
	}
	s := &Server{opts: opts, token: hashToken(opts.Token), metrics: opts.Metrics, log: opts.Logger}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics.setStats(opts.Store.Stats)
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

// Metrics returns the metrics /metrics exposes.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve answers requests on ln until Shutdown and closes ln; it returns
// nil after a Shutdown (also one that came first) and the accept error
// otherwise.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx ends, for
// requests in flight. It is safe to call more than once and before Serve.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down admin server: %w", err)
	}
	return nil
}

// routes builds the mux. Every route but /healthz and /readyz is wrapped
// in an auth check; the dashboard's also accepts Basic credentials.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.bearer(s.metrics.handler()))
	mux.Handle("GET /{$}", s.dashboardAuth(http.HandlerFunc(s.handleDashboard)))

	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.bearer(h)) }
	api("GET /api/events", s.handleListEvents)
	api("GET /api/events/{id}", s.handleGetEvent)
	api("POST /api/events/{id}/replay", s.handleReplay)
	api("GET /api/jobs", s.handleListJobs)
	api("GET /api/jobs/{id}", s.handleGetJob)
	api("POST /api/jobs/{id}/retry", s.handleRetryJob)
	api("DELETE /api/jobs/{id}", s.handleForgetJob)
	api("POST /api/failed/retry", s.handleRetryFailed)
	api("DELETE /api/failed", s.handleFlushFailed)
	api("GET /api/stats", s.handleStats)
	api("GET /api/config/status", s.handleConfigStatus)
	api("GET /api/kv/{ns}/{key}", s.handleKVGet)
	// Anything else: authenticate first, so unknown paths do not reveal
	// which routes exist to callers without the token.
	mux.Handle("/", s.bearer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, engine.ErrNotFound))
	})))
	return securityHeaders(limitBody(mux))
}

// limitBody caps request bodies: no endpoint reads one.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
