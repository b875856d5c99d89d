package ingest

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard/switchboard/engine"
)

// requestError is a client error with the status and message to send.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func errBadRequest(msg string) error { return &requestError{fiber.StatusBadRequest, msg} }

var (
	errNotFound    = &requestError{fiber.StatusNotFound, "not found"}
	errMethod      = &requestError{fiber.StatusMethodNotAllowed, "method not allowed: use POST"}
	errRateLimited = &requestError{fiber.StatusTooManyRequests, "rate limit exceeded"}
)

// signatureError is a failed verification; the sender only ever sees
// "invalid signature", the log sees why.
type signatureError struct{ err error }

func (e *signatureError) Error() string { return "invalid signature: " + e.err.Error() }
func (e *signatureError) Unwrap() error { return e.err }

// statusOf is the one place errors become HTTP statuses and the message
// the sender sees. Internal details never reach the sender.
func statusOf(err error) (int, string) {
	var (
		re *requestError
		se *signatureError
		fe *fiber.Error
	)
	switch {
	case errors.As(err, &re):
		return re.code, re.msg
	case errors.As(err, &se):
		return fiber.StatusUnauthorized, "invalid signature"
	case errors.Is(err, engine.ErrUnavailable):
		return fiber.StatusServiceUnavailable, "queue unavailable, retry later"
	case errors.As(err, &fe):
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			return fe.Code, "body too large"
		case fiber.StatusRequestHeaderFieldsTooLarge:
			return fe.Code, "headers too large"
		}
		return fe.Code, strings.ToLower(fe.Message)
	}
	return fiber.StatusInternalServerError, "internal error"
}

// writeError is the Fiber app's ErrorHandler: every refused request,
// whether the handler refused it or fasthttp did before the handler ran
// (413, 431, timeouts, malformed requests), is answered here with
// statusOf's status and a JSON error body, counted through Observe and
// logged (rate-limited). A connection refused mid-request is drained
// before it closes, so a sender still writing its body reads the answer.
func (s *Server) writeError(c *fiber.Ctx, err error) error {
	code, msg := statusOf(err)
	var fe *fiber.Error
	beforeHandler := errors.As(err, &fe) // fasthttp's own refusals arrive as *fiber.Error
	if beforeHandler {
		lingerOnClose(c.Context().Conn())
	}
	source := ""
	if rt := s.lookup(c.Path()); rt != nil {
		source = rt.src.Name
	}
	if s.opts.Observe != nil {
		s.opts.Observe(source, code)
	}
	s.rejects.log(source, c.IP(), code, err)
	if code == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	return c.Status(code).JSON(fiber.Map{"error": msg})
}
