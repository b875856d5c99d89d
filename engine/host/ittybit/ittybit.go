package ittybit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard/switchboard/engine"
)

// ErrNoAPIKey is returned by every call when ittybit.api_key is empty.
var ErrNoAPIKey = errors.New("ittybit.api_key is not set (ITTYBIT_API_KEY)")

// Options configure the Ittybit client. cmd/switchboard maps [ittybit]
// onto them.
type Options struct {
	// APIKey is sent as "Authorization: Bearer"; empty makes every call
	// fail with ErrNoAPIKey.
	APIKey engine.Secret
	// BaseURL is the API's root (default https://api.ittybit.com).
	BaseURL string
}

// Client calls the Ittybit API. It is safe for concurrent use.
type Client struct {
	base   string
	key    engine.Secret
	client *http.Client
}

var _ engine.Module = (*Client)(nil)

// New returns a client for opts that sends requests through client (pass
// the SSRF-safe client from engine/host/http so allow lists and size caps
// hold).
func New(opts Options, client *http.Client) *Client {
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = "https://api.ittybit.com"
	}
	return &Client{base: base, key: opts.APIKey, client: client}
}

// APIError is a non-2xx answer from Ittybit.
type APIError struct {
	Status  int
	Kind    string // Ittybit's error kind, if it sent one
	Message string // Ittybit's message, or the start of the body
}

func (e *APIError) Error() string {
	if e.Kind != "" {
		return fmt.Sprintf("ittybit: %d %s: %s", e.Status, e.Kind, e.Message)
	}
	return fmt.Sprintf("ittybit: %d: %s", e.Status, e.Message)
}

// CreateTask asks Ittybit for a standalone task (POST /tasks with params
// as the JSON body) and returns the task. Ittybit runs one task per
// idempotencyKey within 24 h, so retrying with the same key is safe.
func (c *Client) CreateTask(ctx context.Context, params map[string]any, idempotencyKey string) (map[string]any, error) {
	return c.create(ctx, "task", "/tasks", params, idempotencyKey)
}

// GetTask returns the task with id (GET /tasks/{id}).
func (c *Client) GetTask(ctx context.Context, id string) (map[string]any, error) {
	return c.get(ctx, "task", "/tasks/", id)
}

// CreateJob asks Ittybit for a job (POST /jobs with params as the JSON
// body: input URL, kind, options and optional metadata) and returns the
// job. params must hold a non-empty string input and kind, which the API
// requires. Ittybit creates one job per idempotencyKey within 24 h, so
// retrying with the same key is safe.
func (c *Client) CreateJob(ctx context.Context, params map[string]any, idempotencyKey string) (map[string]any, error) {
	if err := CheckJobParams(params); err != nil {
		return nil, fmt.Errorf("create ittybit job: %w", err)
	}
	return c.create(ctx, "job", "/jobs", params, idempotencyKey)
}

// GetJob returns the job with id, with its tasks (GET /jobs/{id}).
func (c *Client) GetJob(ctx context.Context, id string) (map[string]any, error) {
	return c.get(ctx, "job", "/jobs/", id)
}

// CheckJobParams reports what POST /jobs would refuse for certain: params
// that are missing, or an input or kind that is not a non-empty string.
func CheckJobParams(params map[string]any) error {
	if params == nil {
		return errors.New("params must be an object")
	}
	for _, key := range []string{"input", "kind"} {
		v, ok := params[key]
		if !ok {
			return fmt.Errorf("params.%s is required", key)
		}
		if s, isString := v.(string); !isString || s == "" {
			return fmt.Errorf("params.%s must be a non-empty string, got %#v", key, v)
		}
	}
	return nil
}

func (c *Client) create(ctx context.Context, what, path string, params map[string]any, idempotencyKey string) (map[string]any, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("create ittybit %s: params: %w", what, err)
	}
	obj, err := c.do(ctx, http.MethodPost, path, body, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("create ittybit %s: %w", what, err)
	}
	return obj, nil
}

func (c *Client) get(ctx context.Context, what, prefix, id string) (map[string]any, error) {
	if id == "" {
		return nil, fmt.Errorf("get ittybit %s: id is empty", what)
	}
	obj, err := c.do(ctx, http.MethodGet, prefix+url.PathEscape(id), nil, "")
	if err != nil {
		return nil, fmt.Errorf("get ittybit %s %s: %w", what, id, err)
	}
	return obj, nil
}

// maxErrorBody bounds how much of an unexpected error body is quoted.
const maxErrorBody = 200

func (c *Client) do(ctx context.Context, method, path string, body []byte, idemKey string) (map[string]any, error) {
	if c.key == "" {
		return nil, ErrNoAPIKey
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, apiError(resp.StatusCode, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("response is not a JSON object: %w", err)
	}
	return unwrapData(out), nil
}

// unwrapData returns the object itself, or its "data" member when the API
// wraps its answer as {data: {...}}.
func unwrapData(out map[string]any) map[string]any {
	if _, hasID := out["id"]; !hasID {
		if inner, ok := out["data"].(map[string]any); ok {
			return inner
		}
	}
	return out
}

func apiError(status int, body []byte) error {
	var e struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Error   any    `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Kind != "" || e.Message != "") {
		return &APIError{Status: status, Kind: e.Kind, Message: e.Message}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > maxErrorBody {
		msg = msg[:maxErrorBody] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Message: msg}
}
