package admin

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"

	"github.com/switchboard/switchboard/engine"
)

// ListenersReport is the answer of GET /api/listeners: every listener
// configured now, plus any the queue still holds jobs or a pause for, and
// the last reload.
type ListenersReport struct {
	Listeners []ListenerInfo `json:"listeners"`
	Reload    ReloadStatus   `json:"reload"`
}

// maxScript bounds how much of a listener's script the console shows.
const maxScript = 512 << 10

func (s *Server) handleListListeners(w http.ResponseWriter, r *http.Request) {
	st, err := s.opts.Store.Stats(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("queue stats: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, ListenersReport{Listeners: listenerInfos(s.currentRoutes(), st), Reload: s.reloadStatus()})
}

// listener finds name among the listeners of GET /api/listeners.
func (s *Server) listener(r *http.Request, name string) (ListenerInfo, error) {
	st, err := s.opts.Store.Stats(r.Context())
	if err != nil {
		return ListenerInfo{}, fmt.Errorf("queue stats: %w", err)
	}
	for _, l := range listenerInfos(s.currentRoutes(), st) {
		if l.Name == name {
			return l, nil
		}
	}
	return ListenerInfo{}, fmt.Errorf("listener %q: %w", name, engine.ErrNotFound)
}

func (s *Server) handleGetListener(w http.ResponseWriter, r *http.Request) {
	l, err := s.listener(r, r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// handleListenerScript answers the entry script of a configured listener
// as plain text (the file as it is on disk now).
func (s *Server) handleListenerScript(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var path string
	if rt := s.currentRoutes(); rt != nil {
		for _, l := range rt.Listeners {
			if l.Name == name {
				path = l.Script
			}
		}
	}
	if path == "" {
		s.writeError(w, r, fmt.Errorf("script of listener %q: not configured: %w", name, engine.ErrNotFound))
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("script of listener %q: %w", name, err))
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxScript))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("read script of listener %q: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handlePause pauses (or resumes) a listener for every process sharing
// the queue. A listener must be configured or known to the queue.
func (s *Server) handlePause(pause bool) http.HandlerFunc {
	action := map[bool]string{true: "pause", false: "resume"}[pause]
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		l, err := s.listener(r, name)
		if err == nil {
			err = s.opts.Store.SetPaused(r.Context(), name, pause)
		}
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%s listener %q: %w", action, name, err))
			return
		}
		changed := 0
		if l.Paused != pause {
			changed = 1
		}
		s.audit(r, action, name, changed, "")
		l, err = s.listener(r, name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, l)
	}
}

// listenerNames are the listeners /metrics reports a paused gauge for.
func (s *Server) listenerNames() []string {
	var names []string
	if rt := s.currentRoutes(); rt != nil {
		for _, l := range rt.Listeners {
			names = append(names, l.Name)
		}
	}
	return names
}

// extraListeners are listeners the queue knows that config no longer
// names, sorted.
func extraListeners(rt *engine.Routes, st engine.Stats) []string {
	known := map[string]bool{}
	if rt != nil {
		for _, l := range rt.Listeners {
			known[l.Name] = true
		}
	}
	var out []string
	add := func(name string) {
		if !known[name] {
			known[name] = true
			out = append(out, name)
		}
	}
	for name := range st.Listeners {
		add(name)
	}
	for name := range st.Paused {
		add(name)
	}
	slices.Sort(out)
	return out
}
