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
	app     *fiber.App
	sub     Submitter
	opts    Options
	log     *slog.Logger
	rejects *rejectLog
	now     func() time.Time
	routes  atomic.Pointer[table]
	mu      sync.Mutex // serialises SetSources
}

// table maps a source's path to its route.
type table map[string]*route

// route is everything the handler needs for one source.
type route struct {
	src      Source
	verifier scheme
	limiter  *rate.Limiter // nil: no rate limit
	keep     []string      // headers copied into the event, lowercase
}

// New builds the server for sources with opts. A source whose verifier
// cannot be built (no secret, an unknown scheme, a malformed key) is an
// error naming the source.
func New(opts Options, sources []Source, sub Submitter) (*Server, error) {
	if sub == nil {
		return nil, errors.New("new ingest server: nil submitter")
	}
	opts = opts.withDefaults()
	s := &Server{sub: sub, opts: opts, log: opts.Logger, rejects: newRejectLog(opts.Logger), now: time.Now}
	if err := s.SetSources(sources); err != nil {
		return nil, err
	}
	s.app = fiber.New(fiber.Config{
		BodyLimit:             int(opts.BodyLimit),
		ReadBufferSize:        opts.HeaderLimit,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		IdleTimeout:           opts.IdleTimeout,
		DisableStartupMessage: true,
		ErrorHandler:          s.writeError,
	})
	s.app.Use(s.handle)
	return s, nil
}

// App returns the Fiber app, for app.Test in tests.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown; it returns nil after a
// graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.app.Listener(newLingerListener(ln, s.opts.BodyLimit)); err != nil {
		return fmt.Errorf("serve webhooks on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx ends, for
// requests in flight to be answered.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("shut down webhook server (%d connections still open): %w", s.app.Server().GetOpenConnectionsCount(), err)
	}
	return nil
}

// SetSources installs sources for requests that start from now on;
// requests in flight finish with the table they began with. On error
// nothing changes. A source that keeps its name and rate keeps its rate
// limiter's state.
func (s *Server) SetSources(sources []Source) error {
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

// buildTable builds every source's route. Config has checked the values;
// what is refused here is what the table itself cannot hold (two sources
// on one path) and what no verifier can be built from.
func buildTable(sources []Source, old map[string]*route) (table, error) {
	var errs []error
	t := make(table, len(sources))
	for _, src := range sources {
		if other := t[src.Path]; other != nil {
			errs = append(errs, fmt.Errorf("sources %q and %q share the path %q", other.src.Name, src.Name, src.Path))
			continue
		}
		v, err := newScheme(src)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %q: %w", src.Name, err))
			continue
		}
		rt := &route{src: src, verifier: v, keep: keepList(src, v)}
		if !src.Rate.IsZero() {
			if prev := old[src.Name]; prev != nil && prev.limiter != nil && prev.src.Rate == src.Rate {
				rt.limiter = prev.limiter
			} else {
				rt.limiter = rate.NewLimiter(rate.Every(src.Rate.Per/time.Duration(src.Rate.N)), src.Rate.N)
			}
		}
		t[src.Path] = rt
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("set webhook sources: %w", err)
	}
	return t, nil
}

// keepList names the headers stored with each event: content type, user
// agent, the scheme's id and timestamp headers, and any header the source
// takes its delivery id or event name from. Never a signature header.
func keepList(src Source, v scheme) []string {
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
