package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Readiness is the answer of GET /readyz. Checks is present only for
// authenticated callers; each value is "ok" or what is wrong.
type Readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks,omitempty"`
}

// StatsReport is the answer of GET /api/stats.
type StatsReport struct {
	Stats     engine.Stats   `json:"stats"`
	Listeners []ListenerInfo `json:"listeners"`
	Reload    ReloadStatus   `json:"reload"`
}

// ListenerInfo summarises one configured listener.
type ListenerInfo struct {
	Name        string         `json:"name"`
	Script      string         `json:"script"`
	On          []string       `json:"on"`
	When        engine.Filter  `json:"when,omitempty"`
	Tries       int            `json:"tries"`
	Backoff     []string       `json:"backoff,omitempty"`
	Timeout     string         `json:"timeout"`
	Delay       string         `json:"delay,omitempty"`
	Concurrency int            `json:"concurrency,omitempty"`
	Rate        string         `json:"rate,omitempty"`
	Jobs        map[string]int `json:"jobs,omitempty"` // count by state, from Stats
}

// pingTimeout bounds the store check so a wedged disk fails the probe
// instead of hanging it.
const pingTimeout = 2 * time.Second

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers whether this process should get traffic; only an
// authenticated caller learns why not (store errors can name paths).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	rd := s.readiness(r.Context())
	code := http.StatusOK
	if !rd.Ready {
		code = http.StatusServiceUnavailable
	}
	if !s.authorized(r) {
		rd.Checks = nil
	}
	writeJSON(w, code, rd)
}

func (s *Server) readiness(ctx context.Context) Readiness {
	rd := Readiness{Ready: true, Checks: map[string]string{"store": "ok", "scripts": "ok"}}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := s.opts.Store.Ping(ctx); err != nil {
		rd.Ready = false
		rd.Checks["store"] = err.Error()
	}
	st := s.reloadStatus()
	switch {
	case st.At.IsZero():
		rd.Ready = false
		rd.Checks["scripts"] = "not loaded"
	case !st.OK:
		// The last good scripts still serve: report, stay ready.
		rd.Checks["scripts"] = "last reload refused: " + st.Error
	}
	return rd
}

func (s *Server) reloadStatus() ReloadStatus {
	if s.opts.Status == nil {
		return ReloadStatus{}
	}
	return s.opts.Status()
}

func (s *Server) currentRoutes() *engine.Routes {
	if s.opts.Routes == nil {
		return nil
	}
	return s.opts.Routes()
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	rep, err := s.statsReport(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) statsReport(ctx context.Context) (StatsReport, error) {
	st, err := s.opts.Store.Stats(ctx)
	if err != nil {
		return StatsReport{}, fmt.Errorf("queue stats: %w", err)
	}
	return StatsReport{
		Stats:     st,
		Listeners: listenerInfos(s.currentRoutes(), st),
		Reload:    s.reloadStatus(),
	}, nil
}

func (s *Server) handleConfigStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.reloadStatus())
}

// listenerInfos summarises the routes' listeners in config order.
func listenerInfos(rt *engine.Routes, st engine.Stats) []ListenerInfo {
	if rt == nil {
		return []ListenerInfo{}
	}
	out := make([]ListenerInfo, 0, len(rt.Listeners))
	for _, l := range rt.Listeners {
		info := ListenerInfo{
			Name:        l.Name,
			Script:      l.Script,
			On:          l.On,
			When:        l.When,
			Tries:       l.Tries,
			Timeout:     l.Timeout.String(),
			Concurrency: l.Concurrency,
		}
		for _, d := range l.Backoff.Steps {
			info.Backoff = append(info.Backoff, d.String())
		}
		if len(l.Backoff.Steps) == 0 && l.Backoff.Base > 0 {
			info.Backoff = []string{fmt.Sprintf("%s doubling, max %s", l.Backoff.Base, l.Backoff.Max)}
		}
		if l.Delay > 0 {
			info.Delay = l.Delay.String()
		}
		if !l.Rate.IsZero() {
			info.Rate = fmt.Sprintf("%d/%s", l.Rate.N, l.Rate.Per)
		}
		if counts := st.Listeners[l.Name]; len(counts) > 0 {
			info.Jobs = make(map[string]int, len(counts))
			for state, n := range counts {
				info.Jobs[string(state)] = n
			}
		}
		out = append(out, info)
	}
	return out
}
