package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard/switchboard/engine"
)

// handle serves every request: it finds the source by path, then rate
// limits, verifies, parses and submits, in that order. Nothing is parsed
// before the signature is verified. Errors are answered (counted and
// logged) by writeError.
func (s *Server) handle(c *fiber.Ctx) error {
	rt := s.lookup(c.Path())
	if rt == nil {
		return errNotFound
	}
	if c.Method() != fiber.MethodPost {
		c.Set(fiber.HeaderAllow, fiber.MethodPost)
		return errMethod
	}
	ev, id, err := s.accept(c, rt)
	if err != nil {
		return err
	}
	status := "ok"
	if ev == nil {
		status = "duplicate"
	}
	if s.opts.Observe != nil {
		s.opts.Observe(rt.src.Name, fiber.StatusOK)
	}
	return c.JSON(fiber.Map{"status": status, "event": id})
}

// accept verifies and stores one delivery. It returns the stored event
// and its id, or a nil event and the earlier id for a duplicate.
func (s *Server) accept(c *fiber.Ctx, rt *route) (*engine.Event, string, error) {
	now := s.now()
	if rt.limiter != nil {
		if wait, ok := reserve(rt, now); !ok {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
			return nil, "", errRateLimited
		}
	}
	h := fastHeader{&c.Request().Header}
	// The raw bytes as sent: Request().Body() does not decompress.
	body := c.Request().Body()
	schemeID, err := rt.verifier.Verify(h, body, now)
	if err != nil {
		return nil, "", &signatureError{err}
	}
	payload, err := decodeObject(body)
	if err != nil {
		return nil, "", err
	}
	// ReceivedAt is left zero: the router stamps it as the event enters
	// the queue (engine.Router.Submit), the one place every event passes.
	name, err := eventName(rt, h, payload)
	if err != nil {
		return nil, "", err
	}
	ev := &engine.Event{
		Name:       name,
		Source:     rt.src.Name,
		DeliveryID: deliveryID(rt, h, payload, body, schemeID),
		Headers:    copyHeaders(rt.keep, h),
		// fasthttp reuses the body buffer once the handler returns; the
		// event may outlive it in a committer goroutine.
		Payload: bytes.Clone(body),
	}
	id, err := s.sub.Submit(c.UserContext(), ev, payload)
	switch {
	case errors.Is(err, engine.ErrDuplicate):
		s.log.Debug("webhook duplicate", "source", ev.Source, "event", id, "delivery", ev.DeliveryID)
		return nil, id, nil
	case err != nil:
		return nil, "", fmt.Errorf("submit %s event from %s: %w", ev.Name, ev.Source, err)
	}
	s.log.Debug("webhook accepted", "source", ev.Source, "name", ev.Name, "event", id, "delivery", ev.DeliveryID, "bytes", len(body))
	return ev, id, nil
}

// reserve takes a token from the source's bucket, or reports how many
// whole seconds until one is due.
func reserve(rt *route, now time.Time) (int, bool) {
	r := rt.limiter.ReserveN(now, 1)
	if !r.OK() {
		return 1, false
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0, true
	}
	r.CancelAt(now)
	return max(1, int(math.Ceil(d.Seconds()))), false
}

// decodeObject parses body with engine.DecodePayload (so what ingest
// accepts, every listener can read) and requires a JSON object.
func decodeObject(body []byte) (map[string]any, error) {
	v, err := engine.DecodePayload(body)
	var pe *engine.PayloadError // DecodePayload's only error type
	switch {
	case errors.As(err, &pe) && pe.Path != "":
		return nil, errBadRequest(fmt.Sprintf("body field %q: %s", pe.Path, pe.Reason))
	case errors.As(err, &pe):
		return nil, errBadRequest("body " + pe.Reason)
	case err != nil:
		return nil, errBadRequest("body is not JSON")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errBadRequest("body is not a JSON object")
	}
	return obj, nil
}

// eventName is the source's fixed name, or the string at its event_field
// (a payload path, or "header:NAME").
func eventName(rt *route, h Header, payload any) (string, error) {
	if rt.src.Event != "" {
		return rt.src.Event, nil
	}
	field := rt.src.EventField
	if name, ok := strings.CutPrefix(field, "header:"); ok {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			return v, nil
		}
		return "", errBadRequest(fmt.Sprintf("header %q with the event name is missing", name))
	}
	v, _ := engine.Lookup(payload, field)
	if s, ok := v.(string); ok && s != "" {
		return s, nil
	}
	return "", errBadRequest(fmt.Sprintf("payload field %q with the event name is missing or not a string", field))
}

// deliveryID follows the source's delivery_id, else the scheme's id, else
// the scheme's payload id or the body hash.
func deliveryID(rt *route, h Header, payload any, body []byte, schemeID string) string {
	spec := rt.src.DeliveryID
	switch {
	case spec == "body":
		return bodyID(body)
	case strings.HasPrefix(spec, "header:"):
		if v := strings.TrimSpace(h.Get(strings.TrimPrefix(spec, "header:"))); v != "" {
			return v
		}
		return bodyID(body)
	case strings.HasPrefix(spec, "field:"):
		v, _ := engine.Lookup(payload, strings.TrimPrefix(spec, "field:"))
		switch x := v.(type) {
		case string:
			if x != "" {
				return x
			}
		case json.Number:
			return x.String()
		}
		return bodyID(body)
	}
	if schemeID != "" {
		return schemeID
	}
	return rt.verifier.fallbackID(payload, body)
}

// copyHeaders copies the named headers that are present.
func copyHeaders(names []string, h Header) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		if v := h.Get(n); v != "" {
			out[n] = v
		}
	}
	return out
}
