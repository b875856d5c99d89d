package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// EventPage is one page of GET /api/events. Next is the cursor for the
// following page ("after"), empty on the last page. With view=summary,
// Summaries holds the events instead (no payloads or headers).
type EventPage struct {
	Events    []engine.Event `json:"events"`
	Summaries []EventSummary `json:"summaries,omitempty"`
	Next      string         `json:"next,omitempty"`
}

// EventSummary is an event without its payload: what a list shows.
type EventSummary struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Source     string    `json:"source"`
	DeliveryID string    `json:"deliveryId,omitempty"`
	ReceivedAt time.Time `json:"receivedAt"`
	Parent     string    `json:"parent,omitempty"`
	Bytes      int       `json:"bytes"`
	// Preview is the payload's first bytes, as text.
	Preview string `json:"preview"`
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

// parseNewest reads ?order=: "newest" or "oldest" (the default, as the
// API always listed).
func parseNewest(r *http.Request) (bool, error) {
	switch o := r.URL.Query().Get("order"); o {
	case "", "oldest":
		return false, nil
	case "newest":
		return true, nil
	default:
		return false, invalid("order: %q is not newest or oldest", o)
	}
}

// eventQuery reads the list and search parameters of GET /api/events:
// q (see Search) or source, delivery, field and value; scan bounds the
// events one call examines.
func eventQuery(r *http.Request) (Search, engine.EventQuery, error) {
	limit, err := parseLimit(r)
	if err != nil {
		return Search{}, engine.EventQuery{}, err
	}
	newest, err := parseNewest(r)
	if err != nil {
		return Search{}, engine.EventQuery{}, err
	}
	v := r.URL.Query()
	s, err := ParseSearch(v.Get("q"))
	if err != nil {
		return s, engine.EventQuery{}, &badRequest{msg: err.Error()}
	}
	set := func(dst *string, key string) {
		if x := v.Get(key); x != "" {
			*dst = x
		}
	}
	set(&s.Source, "source")
	set(&s.DeliveryID, "delivery")
	set(&s.Field, "field")
	set(&s.Value, "value")
	if s.Field != "" && v.Get("value") == "" && s.Value == "" {
		return s, engine.EventQuery{}, invalid("value: must be set with field")
	}
	q := s.query()
	q.Newest, q.Limit, q.After = newest, limit, v.Get("after")
	if q.Scan, err = parseScan(v.Get("scan")); err != nil {
		return s, q, err
	}
	return s, q, nil
}

// A search examines at most this many events per call by default (about
// 40 ms on bbolt), answering with a cursor to go on from: a page stays
// fast however long the history is.
const (
	defaultScan = 2000
	maxScan     = 100_000
)

func parseScan(raw string) (int, error) {
	if raw == "" {
		return defaultScan, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, invalid("scan: %q is not a positive integer", raw)
	}
	return min(n, maxScan), nil
}

func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	search, q, err := eventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.findEvents(r, search, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := EventPage{Events: nonNil(page.Events), Next: page.Next}
	for i := range out.Events {
		out.Events[i].Headers = safeHeaders(out.Events[i].Headers)
	}
	if r.URL.Query().Get("view") == "summary" {
		out.Summaries = make([]EventSummary, 0, len(out.Events))
		for _, ev := range out.Events {
			out.Summaries = append(out.Summaries, summarize(ev))
		}
		out.Events = []engine.Event{}
	}
	writeJSON(w, http.StatusOK, out)
}

// findEvents answers a search: an event id is looked up directly (a bare
// word that is no event id is taken for a delivery id), anything else
// goes to the queue's ListEvents.
func (s *Server) findEvents(r *http.Request, search Search, q engine.EventQuery) (engine.EventPage, error) {
	id := search.ID
	if id == "" && search.Word != "" && q.After == "" {
		id = search.Word
	}
	if id != "" {
		ev, _, err := s.opts.Store.GetEvent(r.Context(), id)
		switch {
		case err == nil:
			return engine.EventPage{Events: []engine.Event{*ev}}, nil
		case !errors.Is(err, engine.ErrNotFound):
			return engine.EventPage{}, err
		case search.ID != "":
			return engine.EventPage{}, nil
		}
	}
	if search.Word != "" && q.DeliveryID == "" {
		q.DeliveryID = search.Word
	}
	return s.opts.Store.ListEvents(r.Context(), q)
}

const previewBytes = 300

func summarize(ev engine.Event) EventSummary {
	p := string(ev.Payload)
	if len(p) > previewBytes {
		p = truncate(previewBytes, p)
	}
	return EventSummary{ID: ev.ID, Name: ev.Name, Source: ev.Source, DeliveryID: ev.DeliveryID,
		ReceivedAt: ev.ReceivedAt, Parent: ev.Parent, Bytes: len(ev.Payload), Preview: p}
}

// safeHeaders drops any header that could carry a credential, whatever
// ingest chose to keep: signatures, secrets, tokens, Authorization,
// cookies.
func safeHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return h
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		n := strings.ToLower(k)
		switch {
		case n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie":
		case strings.Contains(n, "signature") || strings.Contains(n, "secret") || strings.Contains(n, "token") ||
			strings.Contains(n, "api-key") || strings.Contains(n, "apikey") || strings.Contains(n, "password"):
		default:
			out[k] = v
		}
	}
	return out
}

func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ev, jobs, err := s.opts.Store.GetEvent(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ev.Headers = safeHeaders(ev.Headers)
	writeJSON(w, http.StatusOK, EventDetail{Event: *ev, Jobs: nonNil(jobs)})
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
	newest, err := parseNewest(r)
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
		Newest:        newest,
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
	if q.Get("view") == "summary" {
		for i := range page.Jobs {
			page.Jobs[i].Attempts = nil
			if e := page.Jobs[i].LastError; e != nil {
				short := *e
				short.Stack = ""
				page.Jobs[i].LastError = &short
			}
		}
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

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
