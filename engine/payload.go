package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// PayloadError says why bytes are not a payload. Path is the dot path of
// the offending value ("data.size", "items.3.n"), "" for the whole body.
type PayloadError struct {
	Path   string
	Reason string
}

func (e *PayloadError) Error() string {
	if e.Path == "" {
		return "payload " + e.Reason
	}
	return fmt.Sprintf("payload field %q: %s", e.Path, e.Reason)
}

// DecodePayload is the one way switchboard reads an event's payload:
// ingest checking a webhook, routing filters, emit and replay decode with
// it, and a listener script's payload with its twin DecodePayloadFloat,
// so whatever one accepts the others read alike.
//
// raw must hold exactly one JSON value. Objects decode as map[string]any,
// arrays as []any, numbers as json.Number (their exact text, so a
// 19-digit id stays exact), strings, booleans and null as usual. Every
// number must fit a float64, the number a script sees: a value such as
// 1e400 is a *PayloadError naming its path, so no webhook is accepted
// that its listeners cannot read. Every error is a *PayloadError.
func DecodePayload(raw []byte) (any, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	if path, n, ok := outOfRange(v, ""); !ok {
		return nil, &PayloadError{Path: path, Reason: fmt.Sprintf("number %.40s does not fit a 64-bit float (a script's number)", n)}
	}
	return v, nil
}

// DecodePayloadFloat decodes raw as DecodePayload does, accepting and
// refusing exactly the same bytes with the same errors, but gives every
// number as the float64 it stands for: what a script sees (and what
// JSON.parse would give). Without the exact text it allocates less, so
// the per-job decode of a listener's payload uses it.
func DecodePayloadFloat(raw []byte) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		// encoding/json refuses what DecodePayload refuses (bad syntax,
		// data after the value, numbers ParseFloat cannot hold) but words
		// it differently and names no path inside an any: take
		// DecodePayload's error.
		if _, exact := DecodePayload(raw); exact != nil {
			return nil, exact
		}
		return nil, &PayloadError{Reason: "is not JSON: " + err.Error()}
	}
	return v, nil
}

// decodeJSON reads exactly one JSON value from raw, numbers as json.Number.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &PayloadError{Reason: "is not JSON: " + syntaxReason(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &PayloadError{Reason: "is not JSON: data after the value"}
	}
	return v, nil
}

func syntaxReason(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return err.Error()
}

// outOfRange finds the first number under v that overflows a float64,
// returning its path and text. Numbers that underflow round to zero, as
// they do in JavaScript, and pass.
func outOfRange(v any, path string) (string, json.Number, bool) {
	switch x := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return path, x, false
		}
	case map[string]any:
		for k, item := range x {
			if p, n, ok := outOfRange(item, joinPath(path, k)); !ok {
				return p, n, false
			}
		}
	case []any:
		for i, item := range x {
			if p, n, ok := outOfRange(item, joinPath(path, strconv.Itoa(i))); !ok {
				return p, n, false
			}
		}
	}
	return "", "", true
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
