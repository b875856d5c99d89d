package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchboard/switchboard/engine"
)

// EventPage is one page of GET /api/events. Next is the cursor for the
// following page ("after"), empty on the last page.
type EventPage struct {
	Events []engine.Event `json:"events"`
	Next   string         `json:"next,omitempty"`
}

// EventDetail is an event with its jobs.
type EventDetail struct {
	Event engine.Event `json:"event"`
	Jobs  []engine.Job `json:"jobs"`
}

// JobPage is one page of GET /api/jobs.
type JobPage struct {
	Jobs []engine.Job `json:"jobs"`
	Next string       `json:"next,omitempty"`
}

// ReplayResult names the jobs a replay created.
type ReplayResult struct {
	Event string   `json:"event"`
	Jobs  []string `json:"jobs"`
}

// Count answers the bulk and single-job actions: how many jobs changed.
type Count struct {
	Count int `json:"count"`
}

// parseLimit reads ?limit=, defaulting and bounding it.
func parseLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return engine.DefaultPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, invalid("limit: %q is not a positive integer", raw)
	}
	return engine.PageSize(n), nil
}

// parseState reads ?state=, which must name a job state if given.
func parseState(r *http.Request) (engine.JobState, error) {
	st := engine.JobState(r.URL.Query().Get("state"))
	switch st {
	case "", engine.JobPending, engine.JobRunning, engine.JobDone, engine.JobFailed:
		return st, nil
	}
	return "", invalid("state: %q is not one of pending, running, done, failed", string(st))
}

func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	res, err := s.opts.Store.ListEvents(r.Context(), engine.EventQuery{
		Limit: limit, After: q.Get("after"), Newest: q.Get("order") == "newest",
		Source: q.Get("source"), DeliveryID: q.Get("delivery"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, EventPage{Events: nonNil(res.Events), Next: res.Next})
}

func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ev, jobs, err := s.opts.Store.GetEvent(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, EventDetail{Event: *ev, Jobs: nonNil(jobs)})
}

func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.opts.Replay == nil {
		s.writeError(w, r, fmt.Errorf("replay event %s: no replayer configured: %w", id, engine.ErrUnavailable))
		return
	}
	ids, err := s.opts.Replay(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ReplayResult{Event: id, Jobs: nonNil(ids)})
}

func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	state, err := parseState(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	jobs, err := s.opts.Store.ListJobs(r.Context(), engine.JobQuery{
		State:         state,
		Listener:      q.Get("listener"),
		EventID:       q.Get("event"),
		ErrorContains: q.Get("error"),
		Newest:        q.Get("order") == "newest",
		Limit:         limit,
		After:         q.Get("after"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := JobPage{Jobs: nonNil(jobs)}
	if len(jobs) == limit {
		page.Next = jobs[len(jobs)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, err := s.opts.Store.GetJob(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, job)
}

func (s *Server) handleRetryJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.opts.Store.RetryJob(r.Context(), id); err != nil {
		s.writeError(w, r, err) // the store's error names the job and why
		return
	}
	writeJSON(w, http.StatusOK, Count{Count: 1})
}

func (s *Server) handleForgetJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.opts.Store.ForgetJob(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Count{Count: 1})
}

func (s *Server) handleRetryFailed(w http.ResponseWriter, r *http.Request) {
	n, err := s.opts.Store.RetryFailed(r.Context(), failedFilter(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Count{Count: n})
}

func (s *Server) handleFlushFailed(w http.ResponseWriter, r *http.Request) {
	n, err := s.opts.Store.FlushFailed(r.Context(), failedFilter(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Count{Count: n})
}

// failedFilter reads ?listener= and ?error= of the bulk failed actions.
func failedFilter(r *http.Request) engine.JobFilter {
	q := r.URL.Query()
	return engine.JobFilter{Listener: q.Get("listener"), ErrorContains: q.Get("error")}
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
