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
	Now    time.Time
	Ready  Readiness
	Report StatsReport
	Failed []engine.Job
	Events []engine.Event
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
	page, err := s.opts.Store.ListEvents(ctx, engine.EventQuery{Limit: dashboardEvents, Newest: true})
	if err != nil {
		return d, fmt.Errorf("list events: %w", err)
	}
	d.Events = page.Events
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
