package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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

// ListenerInfo summarises one listener: its settings from config (empty
// for a listener config no longer names whose jobs are still queued), its
// jobs now, and whether it is paused.
type ListenerInfo struct {
	Name        string         `json:"name"`
	Configured  bool           `json:"configured"`
	Script      string         `json:"script,omitempty"`
	On          []string       `json:"on,omitempty"`
	When        engine.Filter  `json:"when,omitempty"`
	Tries       int            `json:"tries,omitempty"`
	Backoff     []string       `json:"backoff,omitempty"`
	Timeout     string         `json:"timeout,omitempty"`
	Delay       string         `json:"delay,omitempty"`
	Concurrency int            `json:"concurrency,omitempty"`
	Rate        string         `json:"rate,omitempty"`
	OrderBy     string         `json:"orderBy,omitempty"`
	Jobs        map[string]int `json:"jobs,omitempty"` // count by state, from Stats
	// OldestDue is when the oldest due pending job became due.
	OldestDue time.Time `json:"oldestDue,omitzero"`
	// Paused says the listener's jobs wait until it is resumed, since
	// PausedAt, in every process sharing the queue.
	Paused   bool      `json:"paused"`
	PausedAt time.Time `json:"pausedAt,omitzero"`
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
	// Listeners here are the configured ones, as this answer always held;
	// GET /api/listeners adds those only the queue knows.
	ls := listenerInfos(s.currentRoutes(), st)
	ls = slices.DeleteFunc(ls, func(l ListenerInfo) bool { return !l.Configured })
	return StatsReport{Stats: st, Listeners: ls, Reload: s.reloadStatus()}, nil
}

func (s *Server) handleConfigStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.reloadStatus())
}

func (s *Server) handleProcesses(w http.ResponseWriter, r *http.Request) {
	procs, err := s.opts.Store.Processes(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list processes: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, nonNil(procs))
}

// listenerInfos summarises the routes' listeners in config order, then
// the listeners only the queue knows.
func listenerInfos(rt *engine.Routes, st engine.Stats) []ListenerInfo {
	out := []ListenerInfo{}
	if rt != nil {
		for _, l := range rt.Listeners {
			out = append(out, configuredInfo(l))
		}
	}
	for _, name := range extraListeners(rt, st) {
		out = append(out, ListenerInfo{Name: name})
	}
	for i := range out {
		info := &out[i]
		if counts := st.Listeners[info.Name]; len(counts) > 0 {
			info.Jobs = make(map[string]int, len(counts))
			for state, n := range counts {
				info.Jobs[string(state)] = n
			}
		}
		info.OldestDue = st.OldestDueBy[info.Name]
		info.PausedAt, info.Paused = st.Paused[info.Name]
	}
	return out
}

func configuredInfo(l *engine.Listener) ListenerInfo {
	info := ListenerInfo{
		Name:        l.Name,
		Configured:  true,
		Script:      l.Script,
		On:          l.On,
		When:        l.When,
		Tries:       l.Tries,
		Timeout:     l.Timeout.String(),
		Concurrency: l.Concurrency,
		OrderBy:     l.OrderBy,
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
	return info
}
