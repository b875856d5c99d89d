package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/engine"
)

// Client talks to a running switchboard's admin API. The zero HTTP uses
// http.DefaultClient; BaseURL is like "http://127.0.0.1:8081".
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Error is an answer the admin API gave with a non-2xx status. It matches
// engine.ErrNotFound under errors.Is when Status is 404.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("admin api: %s (%d %s)", e.Message, e.Status, http.StatusText(e.Status))
}

// Unwrap lets errors.Is(err, engine.ErrNotFound) and
// errors.Is(err, ErrUnauthorized) work across the wire.
func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return engine.ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusConflict:
		return ErrConflict
	case http.StatusServiceUnavailable:
		return engine.ErrUnavailable
	}
	return nil
}

// maxAnswer bounds how much of an answer the client reads.
const maxAnswer = 64 << 20

// do sends one request and decodes a 2xx JSON answer into out (if not
// nil). ok lists extra statuses that also carry a body to decode.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any, ok ...int) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", "switchboard-cli")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if (resp.StatusCode < 200 || resp.StatusCode > 299) && !contains(ok, resp.StatusCode) {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(body))
		}
		return &Error{Status: resp.StatusCode, Message: eb.Error}
	}
	if out == nil {
		return nil
	}
	if s, isString := out.(*string); isString {
		*s = string(body)
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func pathID(prefix, id, suffix string) string {
	return prefix + url.PathEscape(id) + suffix
}

// Health returns nil if the process answers GET /healthz.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

// Ready returns the readiness answer, with its checks when the token is
// right. A not-ready server is not an error: see Readiness.Ready.
func (c *Client) Ready(ctx context.Context) (Readiness, error) {
	var rd Readiness
	err := c.do(ctx, http.MethodGet, "/readyz", nil, &rd, http.StatusServiceUnavailable)
	return rd, err
}

// ListEvents returns up to limit events after the event with id after.
func (c *Client) ListEvents(ctx context.Context, limit int, after string) ([]engine.Event, error) {
	page, err := c.EventsPage(ctx, limit, after)
	return page.Events, err
}

// EventsPage is ListEvents with the cursor of the next page.
func (c *Client) EventsPage(ctx context.Context, limit int, after string) (EventPage, error) {
	var page EventPage
	err := c.do(ctx, http.MethodGet, "/api/events", pageQuery(limit, after), &page)
	return page, err
}

// EventSearch is a page request of SearchEvents: Q in the syntax of
// ParseSearch, newest first when Newest.
type EventSearch struct {
	Q      string
	Newest bool
	Limit  int
	After  string
}

// SearchEvents returns one page of the events s selects.
func (c *Client) SearchEvents(ctx context.Context, s EventSearch) (EventPage, error) {
	v := pageQuery(s.Limit, s.After)
	if s.Q != "" {
		v.Set("q", s.Q)
	}
	if s.Newest {
		v.Set("order", "newest")
	}
	var page EventPage
	err := c.do(ctx, http.MethodGet, "/api/events", v, &page)
	return page, err
}

// GetEvent returns an event and its jobs.
func (c *Client) GetEvent(ctx context.Context, id string) (*engine.Event, []engine.Job, error) {
	var d EventDetail
	if err := c.do(ctx, http.MethodGet, pathID("/api/events/", id, ""), nil, &d); err != nil {
		return nil, nil, err
	}
	return &d.Event, d.Jobs, nil
}

// Replay gives an event new jobs for every current listener that hears it
// and returns their ids.
func (c *Client) Replay(ctx context.Context, id string) ([]string, error) {
	var rr ReplayResult
	err := c.do(ctx, http.MethodPost, pathID("/api/events/", id, "/replay"), nil, &rr)
	return rr.Jobs, err
}

// ListJobs returns the jobs q selects.
func (c *Client) ListJobs(ctx context.Context, q engine.JobQuery) ([]engine.Job, error) {
	page, err := c.JobsPage(ctx, q)
	return page.Jobs, err
}

// JobsPage is ListJobs with the cursor of the next page.
func (c *Client) JobsPage(ctx context.Context, q engine.JobQuery) (JobPage, error) {
	v := pageQuery(q.Limit, q.After)
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("state", string(q.State))
	set("listener", q.Listener)
	set("event", q.EventID)
	set("error", q.ErrorContains)
	if q.Newest {
		v.Set("order", "newest")
	}
	var page JobPage
	err := c.do(ctx, http.MethodGet, "/api/jobs", v, &page)
	return page, err
}

// GetJob returns one job, with its last error and stack.
func (c *Client) GetJob(ctx context.Context, id string) (*engine.Job, error) {
	var job engine.Job
	if err := c.do(ctx, http.MethodGet, pathID("/api/jobs/", id, ""), nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// RetryJob makes a failed job run again now.
func (c *Client) RetryJob(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, pathID("/api/jobs/", id, "/retry"), nil, nil)
}

// ForgetJob deletes a failed job.
func (c *Client) ForgetJob(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, pathID("/api/jobs/", id, ""), nil, nil)
}

// RetryFailed makes every failed job run again and returns how many.
func (c *Client) RetryFailed(ctx context.Context) (int, error) {
	return c.RetryFailedWhere(ctx, engine.JobFilter{})
}

// FlushFailed deletes every failed job and returns how many.
func (c *Client) FlushFailed(ctx context.Context) (int, error) {
	return c.FlushFailedWhere(ctx, engine.JobFilter{})
}

// RetryFailedWhere retries the failed jobs f selects and returns how many.
func (c *Client) RetryFailedWhere(ctx context.Context, f engine.JobFilter) (int, error) {
	var n Count
	err := c.do(ctx, http.MethodPost, "/api/failed/retry", filterQuery(f), &n)
	return n.Count, err
}

// FlushFailedWhere deletes the failed jobs f selects and returns how many.
func (c *Client) FlushFailedWhere(ctx context.Context, f engine.JobFilter) (int, error) {
	var n Count
	err := c.do(ctx, http.MethodDelete, "/api/failed", filterQuery(f), &n)
	return n.Count, err
}

func filterQuery(f engine.JobFilter) url.Values {
	v := url.Values{}
	if f.Listener != "" {
		v.Set("listener", f.Listener)
	}
	if f.ErrorContains != "" {
		v.Set("error", f.ErrorContains)
	}
	return v
}

// Stats returns the queue's stats, the listeners and the reload status.
func (c *Client) Stats(ctx context.Context) (StatsReport, error) {
	var rep StatsReport
	err := c.do(ctx, http.MethodGet, "/api/stats", nil, &rep)
	return rep, err
}

// ConfigStatus returns the last reload's result.
func (c *Client) ConfigStatus(ctx context.Context) (ReloadStatus, error) {
	var st ReloadStatus
	err := c.do(ctx, http.MethodGet, "/api/config/status", nil, &st)
	return st, err
}

// Listeners returns every listener with its state and the last reload.
func (c *Client) Listeners(ctx context.Context) (ListenersReport, error) {
	var rep ListenersReport
	err := c.do(ctx, http.MethodGet, "/api/listeners", nil, &rep)
	return rep, err
}

// Pause stops a listener's jobs from starting, in every process, until
// Resume; it returns the listener as it is now.
func (c *Client) Pause(ctx context.Context, listener string) (ListenerInfo, error) {
	var l ListenerInfo
	err := c.do(ctx, http.MethodPost, pathID("/api/listeners/", listener, "/pause"), nil, &l)
	return l, err
}

// Resume lets a paused listener's jobs run again.
func (c *Client) Resume(ctx context.Context, listener string) (ListenerInfo, error) {
	var l ListenerInfo
	err := c.do(ctx, http.MethodPost, pathID("/api/listeners/", listener, "/resume"), nil, &l)
	return l, err
}

// Audit returns up to limit operator actions older than before ("" =
// from the newest), newest first.
func (c *Client) Audit(ctx context.Context, limit int, before string) (AuditPage, error) {
	v := url.Values{}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		v.Set("before", before)
	}
	var page AuditPage
	err := c.do(ctx, http.MethodGet, "/api/audit", v, &page)
	return page, err
}

// History returns the charts' data for range "1h" or "24h".
func (c *Client) History(ctx context.Context, rng string) (HistoryReport, error) {
	var rep HistoryReport
	err := c.do(ctx, http.MethodGet, "/api/history", url.Values{"range": {rng}}, &rep)
	return rep, err
}

// Processes lists the live processes sharing the queue.
func (c *Client) Processes(ctx context.Context) ([]engine.Process, error) {
	var ps []engine.Process
	err := c.do(ctx, http.MethodGet, "/api/processes", nil, &ps)
	return ps, err
}

// Metrics returns the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var text string
	err := c.do(ctx, http.MethodGet, "/metrics", nil, &text)
	return text, err
}

func pageQuery(limit int, after string) url.Values {
	v := url.Values{}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if after != "" {
		v.Set("after", after)
	}
	return v
}
