package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
)

// Submitter stores a verified event; engine.Router implements it.
type Submitter interface {
	// Submit stores ev (and its jobs) durably and returns the event id.
	// payload is ev.Payload decoded. An error wrapping engine.ErrDuplicate
	// carries the earlier event's id; one wrapping engine.ErrUnavailable
	// means nothing was stored and the sender should retry later.
	Submit(ctx context.Context, ev *engine.Event, payload any) (string, error)
}

var _ Submitter = (*engine.Router)(nil)

// Server is the public webhook listener: one route per source path,
// looked up in a table that SetSources swaps atomically.
type Server struct {
	app    *fiber.App
	sub    Submitter
	log    *slog.Logger
	now    func() time.Time
	routes atomic.Pointer[table]
	mu     sync.Mutex // serialises SetSources

	// Observe, if set before Serve, is told every answered request's
	// source ("" for an unknown path) and status code (for metrics).
	Observe func(source string, status int)
}

// table maps a source's path to its route.
type table map[string]*route

// route is everything the handler needs for one source.
type route struct {
	src      config.Source
	verifier scheme
	limiter  *rate.Limiter // nil: no rate limit
	keep     []string      // headers copied into the event, lowercase
}

// New builds the server for cfg with sources. Zero limits in cfg take the
// defaults of config.Default. Invalid sources are an error naming the key.
func New(cfg config.Server, sources []config.Source, sub Submitter, logger *slog.Logger) (*Server, error) {
	if sub == nil {
		return nil, errors.New("new ingest server: nil submitter")
	}
	if logger == nil {
		logger = slog.Default()
	}
	cfg = withDefaults(cfg)
	s := &Server{sub: sub, log: logger, now: time.Now}
	if err := s.SetSources(sources); err != nil {
		return nil, err
	}
	s.app = fiber.New(fiber.Config{
		BodyLimit:             int(cfg.BodyLimit),
		ReadBufferSize:        int(cfg.HeaderLimit),
		ReadTimeout:           cfg.ReadTimeout.D(),
		WriteTimeout:          cfg.WriteTimeout.D(),
		IdleTimeout:           cfg.IdleTimeout.D(),
		DisableStartupMessage: true,
		ErrorHandler:          writeError,
	})
	s.app.Use(s.handle)
	return s, nil
}

func withDefaults(cfg config.Server) config.Server {
	def := config.Default().Server
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = def.BodyLimit
	}
	if cfg.HeaderLimit <= 0 {
		cfg.HeaderLimit = def.HeaderLimit
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = def.ReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = def.WriteTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	return cfg
}

// App returns the Fiber app, for app.Test in tests.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown; it returns nil after a
// graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.app.Listener(ln); err != nil {
		return fmt.Errorf("serve webhooks on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx ends, for
// requests in flight to be answered.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("shut down webhook server: %w", err)
	}
	return nil
}

// SetSources validates sources and installs them for requests that start
// from now on; requests in flight finish with the table they began with.
// On error nothing changes. A source that keeps its name and rate keeps
// its rate limiter's state.
func (s *Server) SetSources(sources []config.Source) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := map[string]*route{}
	if t := s.routes.Load(); t != nil {
		for _, rt := range *t {
			old[rt.src.Name] = rt
		}
	}
	t, err := buildTable(sources, old)
	if err != nil {
		return err
	}
	s.routes.Store(&t)
	return nil
}

// lookup returns the route serving path, nil if none. A single trailing
// slash is ignored.
func (s *Server) lookup(path string) *route {
	t := *s.routes.Load()
	if rt, ok := t[path]; ok {
		return rt
	}
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		return t[path[:len(path)-1]]
	}
	return nil
}

func buildTable(sources []config.Source, old map[string]*route) (table, error) {
	var errs []error
	t := make(table, len(sources))
	names := map[string]bool{}
	for i, src := range sources {
		rt, err := buildRoute(src, old[src.Name])
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("sources[%d].%w", i, err))
		case names[src.Name]:
			errs = append(errs, fmt.Errorf("sources[%d].name: %q is used by another source", i, src.Name))
		case t[src.Path] != nil:
			errs = append(errs, fmt.Errorf("sources[%d].path: %q is also the path of source %q", i, src.Path, t[src.Path].src.Name))
		default:
			t[src.Path] = rt
		}
		names[src.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("set webhook sources: %w", err)
	}
	return t, nil
}

func buildRoute(src config.Source, prev *route) (*route, error) {
	switch {
	case src.Name == "":
		return nil, errors.New("name: must be set")
	case !strings.HasPrefix(src.Path, "/"):
		return nil, fmt.Errorf("path: %q must start with /", src.Path)
	case src.Event == "" && src.EventField == "":
		return nil, errors.New("event: set event (a fixed name) or event_field (a payload path)")
	}
	if d := src.DeliveryID; d != "" && d != "body" && !strings.HasPrefix(d, "header:") && !strings.HasPrefix(d, "field:") {
		return nil, fmt.Errorf("delivery_id: %q is not header:NAME, field:PATH or body", d)
	}
	v, err := newScheme(src)
	if err != nil {
		return nil, err
	}
	rt := &route{src: src, verifier: v, keep: keepList(src, v)}
	if src.Rate != "" {
		r, err := config.ParseRate(src.Rate)
		if err != nil {
			return nil, fmt.Errorf("rate: %w", err)
		}
		if prev != nil && prev.limiter != nil && prev.src.Rate == src.Rate {
			rt.limiter = prev.limiter
		} else {
			rt.limiter = rate.NewLimiter(rate.Every(r.Per/time.Duration(r.N)), r.N)
		}
	}
	return rt, nil
}

// keepList names the headers stored with each event: content type, user
// agent, the scheme's id and timestamp headers, and any header the source
// takes its delivery id or event name from. Never a signature header.
func keepList(src config.Source, v scheme) []string {
	list := []string{"content-type", "user-agent"}
	for _, h := range v.keepHeaders() {
		list = append(list, strings.ToLower(h))
	}
	for _, spec := range []string{src.DeliveryID, src.EventField} {
		if name, ok := strings.CutPrefix(spec, "header:"); ok && name != "" {
			list = append(list, strings.ToLower(name))
		}
	}
	return list
}
