package admin

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/engine"
)

// RecentLister is implemented by a Store that can list the newest events
// first. The dashboard's "recent events" use it when present; otherwise
// they show the first page of ListEvents, labelled oldest first.
type RecentLister interface {
	// RecentEvents returns up to limit events, newest first.
	RecentEvents(ctx context.Context, limit int) ([]engine.Event, error)
}

// dashboardCSP allows no script, no frames, no forms and no outside
// resources: the page is inert HTML with inline style.
const dashboardCSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// How much the dashboard shows.
const (
	dashboardFailed = 50
	dashboardEvents = 20
)

//go:embed dashboard.html
var dashboardHTML string

var dashboardTmpl = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"when":     fmtTime,
	"truncate": truncate,
	"bytes":    fmtBytes,
	"count":    func(m map[engine.JobState]int, state string) int { return m[engine.JobState(state)] },
}).Parse(dashboardHTML))

// dashboardData is everything the page shows, read before rendering so a
// store error becomes a clean error answer rather than half a page.
type dashboardData struct {
	Now          time.Time
	Ready        Readiness
	Report       StatsReport
	Failed       []engine.Job
	Events       []engine.Event
	EventsOldest bool // Events is the oldest page, not the newest
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	data, err := s.dashboardData(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := dashboardTmpl.Execute(&buf, data); err != nil {
		s.writeError(w, r, fmt.Errorf("render dashboard: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) dashboardData(ctx context.Context) (dashboardData, error) {
	d := dashboardData{Now: time.Now(), Ready: s.readiness(ctx)}
	var err error
	if d.Report, err = s.statsReport(ctx); err != nil {
		return d, err
	}
	d.Failed, err = s.opts.Store.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed, Limit: dashboardFailed})
	if err != nil {
		return d, fmt.Errorf("list failed jobs: %w", err)
	}
	if rl, ok := s.opts.Store.(RecentLister); ok {
		d.Events, err = rl.RecentEvents(ctx, dashboardEvents)
	} else {
		d.EventsOldest = true
		d.Events, err = s.opts.Store.ListEvents(ctx, dashboardEvents, "")
	}
	if err != nil {
		return d, fmt.Errorf("list events: %w", err)
	}
	return d, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// truncate cuts s to n runes, never inside a UTF-8 sequence.
func truncate(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n {
			break
		}
		count++
	}
	return s[:i] + "…"
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
