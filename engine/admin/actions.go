package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Every operator action goes through audit: one log line and one entry
// in the queue's audit list (GET /api/audit), with when, what and from
// where.

// audit records an action that happened. A failure to store the entry is
// logged but does not undo or fail the action.
func (s *Server) audit(r *http.Request, action, target string, count int, detail string) {
	e := engine.AuditEntry{At: time.Now().UTC(), Action: action, Target: target, Count: count, Actor: actor(r), Detail: detail}
	s.log.Info("operator action", "action", action, "target", target, "count", count, "actor", e.Actor, "detail", detail)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.opts.Store.Audit(ctx, e); err != nil {
		s.log.Error("write audit entry", "action", action, "target", target, "err", err)
	}
}

func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.opts.Replay == nil {
		s.writeError(w, r, fmt.Errorf("replay event %s: no replayer configured: %w", id, engine.ErrUnavailable))
		return
	}
	ids, err := s.opts.Replay(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err) // it names the event and what failed
		return
	}
	s.audit(r, "replay", id, len(ids), strings.Join(ids, " "))
	writeJSON(w, http.StatusOK, ReplayResult{Event: id, Jobs: nonNil(ids)})
}

func (s *Server) handleRetryJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.opts.Store.RetryJob(r.Context(), id); err != nil {
		s.writeError(w, r, err) // the store's error names the job and why
		return
	}
	s.audit(r, "retry", id, 1, "")
	writeJSON(w, http.StatusOK, Count{Count: 1})
}

func (s *Server) handleForgetJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.opts.Store.ForgetJob(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r, "forget", id, 1, "")
	writeJSON(w, http.StatusOK, Count{Count: 1})
}

// jobFilter reads ?listener= and ?error= of the bulk actions; neither
// means every failed job, as the API always did.
func jobFilter(r *http.Request) engine.JobFilter {
	q := r.URL.Query()
	return engine.JobFilter{Listener: q.Get("listener"), ErrorContains: q.Get("error")}
}

// filterText describes f for the audit list.
func filterText(f engine.JobFilter) string {
	var parts []string
	if f.Listener != "" {
		parts = append(parts, "listener="+f.Listener)
	}
	if f.ErrorContains != "" {
		parts = append(parts, "error~"+strconv.Quote(f.ErrorContains))
	}
	if len(parts) == 0 {
		return "all failed jobs"
	}
	return strings.Join(parts, " ")
}

func (s *Server) handleRetryFailed(w http.ResponseWriter, r *http.Request) {
	f := jobFilter(r)
	n, err := s.opts.Store.RetryFailed(r.Context(), f)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("retry failed jobs: %w", err))
		return
	}
	s.audit(r, "retry-failed", filterText(f), n, "")
	writeJSON(w, http.StatusOK, Count{Count: n})
}

func (s *Server) handleFlushFailed(w http.ResponseWriter, r *http.Request) {
	f := jobFilter(r)
	n, err := s.opts.Store.FlushFailed(r.Context(), f)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("flush failed jobs: %w", err))
		return
	}
	s.audit(r, "flush", filterText(f), n, "")
	writeJSON(w, http.StatusOK, Count{Count: n})
}

// AuditPage is one page of GET /api/audit, newest first. Next is the
// "before" of the following page (RFC 3339), empty on the last.
type AuditPage struct {
	Entries []engine.AuditEntry `json:"entries"`
	Next    string              `json:"next,omitempty"`
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var before time.Time
	if raw := r.URL.Query().Get("before"); raw != "" {
		if before, err = time.Parse(time.RFC3339Nano, raw); err != nil {
			s.writeError(w, r, invalid("before: %q is not an RFC 3339 time", raw))
			return
		}
	}
	entries, err := s.opts.Store.ListAudit(r.Context(), limit, before)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list audit: %w", err))
		return
	}
	page := AuditPage{Entries: nonNil(entries)}
	if len(entries) == limit {
		page.Next = entries[len(entries)-1].At.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, page)
}
