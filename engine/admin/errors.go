package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/switchboard/switchboard/engine"
)

// Errors the API answers with besides the engine's sentinels.
var (
	// ErrUnauthorized: the request carried no token or the wrong one.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrConflict: the request does not fit the resource's state, such as
	// forgetting a job that has not failed.
	ErrConflict = engine.ErrConflict
)

// badRequest is a request the caller got wrong (a bad query parameter).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &badRequest{msg: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to the HTTP status the API answers with. It is
// the one place that decides.
func statusOf(err error) int {
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, engine.ErrUnavailable), errors.Is(err, engine.ErrClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers with err's status and message, logging server-side
// failures (the caller only sees the message).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code >= 500 {
		s.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// writeJSON answers with v encoded as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the status line is sent; a write error has no one to go to
}
