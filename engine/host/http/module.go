package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	stdhttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Module is the "http" host module.
type Module struct {
	client  *stdhttp.Client
	timeout time.Duration
}

var _ engine.Module = (*Module)(nil)

// New returns the module over a client built by NewClient(opts).
func New(opts Options) *Module {
	return &Module{client: NewClient(opts), timeout: opts.Timeout}
}

// Client returns the SSRF-safe client the module uses, for other modules
// (ittybit) that must obey the same limits.
func (m *Module) Client() *stdhttp.Client { return m.client }

// Name is the export name, "http".
func (m *Module) Name() string { return "http" }

// Exports returns request, get and post. Each returns
// {status, ok, url, headers, body, json}; a non-2xx status is a response,
// not an error; refused addresses, timeouts and oversized bodies throw.
// In a dry run every call is recorded and answered with an empty 200
// flagged dryRun: true.
func (m *Module) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"request": func(opts map[string]any) (map[string]any, error) {
			return m.call(cur(), "request", opts, []any{opts})
		},
		"get": func(u string, opts map[string]any) (map[string]any, error) {
			o := clone(opts)
			o["method"], o["url"] = "GET", u
			return m.call(cur(), "get", o, []any{u, opts})
		},
		"post": func(u string, body any, opts map[string]any) (map[string]any, error) {
			o := clone(opts)
			o["method"], o["url"], o["body"] = "POST", u, body
			return m.call(cur(), "post", o, []any{u, body, opts})
		},
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// request is a script's request options, checked.
type request struct {
	method  string
	url     string
	headers stdhttp.Header
	body    []byte
	isJSON  bool
	timeout time.Duration
}

func (m *Module) call(inv *engine.Invocation, fn string, opts map[string]any, recorded []any) (map[string]any, error) {
	r, err := parseRequest(opts)
	if err != nil {
		return nil, fmt.Errorf("http.%s: %w", fn, err)
	}
	if inv.Recorder != nil {
		inv.Recorder.Record("http", fn, recorded...)
		return map[string]any{"status": int64(200), "ok": true, "dryRun": true, "url": r.url,
			"headers": map[string]any{}, "body": "", "json": nil}, nil
	}
	resp, err := m.do(inv.Ctx, r)
	if err != nil {
		return nil, fmt.Errorf("http.%s %s %s: %w", fn, r.method, redact(r.url), err)
	}
	return resp, nil
}

func parseRequest(opts map[string]any) (*request, error) {
	r := &request{method: "GET", headers: stdhttp.Header{}}
	if opts == nil {
		return nil, errors.New("expects an options object with a url")
	}
	if m, ok := opts["method"].(string); ok && m != "" {
		r.method = strings.ToUpper(m)
	}
	r.url, _ = opts["url"].(string)
	if r.url == "" {
		return nil, errors.New("url is required")
	}
	if h, ok := opts["headers"].(map[string]any); ok {
		for k, v := range h {
			if v != nil {
				r.headers.Set(k, fmt.Sprint(v))
			}
		}
	} else if opts["headers"] != nil {
		return nil, errors.New("headers must be an object")
	}
	var err error
	switch body := opts["body"].(type) {
	case nil:
	case string:
		r.body = []byte(body)
	case []byte:
		r.body = body
	default: // objects, arrays, numbers, booleans: JSON
		if r.body, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		r.isJSON = true
	}
	if v, ok := opts["json"]; ok && v != nil {
		if r.body != nil {
			return nil, errors.New("set body or json, not both")
		}
		if r.body, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		r.isJSON = true
	}
	if r.isJSON && r.headers.Get("Content-Type") == "" {
		r.headers.Set("Content-Type", "application/json")
	}
	if r.timeout, err = parseTimeout(opts["timeout"]); err != nil {
		return nil, err
	}
	return r, nil
}

// parseTimeout accepts a duration string ("5s") or a number of seconds.
func parseTimeout(v any) (time.Duration, error) {
	switch t := v.(type) {
	case nil:
		return 0, nil
	case string:
		d, err := engine.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("timeout: %w", err)
		}
		return d, nil
	case int64:
		return time.Duration(t) * time.Second, nil
	case float64:
		return time.Duration(t * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("timeout: %v is not a duration or a number of seconds", v)
}

func (m *Module) do(ctx context.Context, r *request) (map[string]any, error) {
	timeout := m.timeout
	if r.timeout > 0 && (timeout <= 0 || r.timeout < timeout) {
		timeout = r.timeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout) // the job's deadline still wins if sooner
		defer cancel()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := stdhttp.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, unwrapURL(err)
	}
	req.Header = r.headers
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, unwrapURL(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", unwrapURL(err))
	}
	headers := make(map[string]any, len(resp.Header))
	for k, v := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	var parsed any
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(data, &parsed) != nil {
		parsed = nil // a bad JSON body is still a response; body has the text
	}
	return map[string]any{
		"status":  int64(resp.StatusCode),
		"ok":      resp.StatusCode >= 200 && resp.StatusCode < 300,
		"url":     resp.Request.URL.String(),
		"headers": headers,
		"body":    string(data),
		"json":    parsed,
	}, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// unwrapURL drops *url.Error's copy of the URL, which may carry secrets in
// its query; callers name the request themselves.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact returns u without its query, fragment and user info.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid url)"
	}
	p.User, p.RawQuery, p.Fragment = nil, "", ""
	return p.String()
}
