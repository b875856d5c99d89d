package isolate

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// Errors cross the pipes as objects: "t" is the type, "m" the message,
// "is" the sentinels the error matches (so errors.Is, and therefore
// engine.Classify, sees the same on both sides).
const (
	errGo        = "go"        // a Go error: m, is
	errSnooze    = "snooze"    // after (ns)
	errCancel    = "cancel"    // reason
	errException = "exception" // script.Exception: m, s, cause
	errCompile   = "compile"   // script.CompileError: file, line, col, m
	errJS        = "js"        // a JS Error thrown by goja itself: name, m
	errValue     = "value"     // a thrown value that is no Error: m
	errRef       = "ref"       // a value the receiver threw first: ref
)

var sentinels = map[string]error{
	"deadline": context.DeadlineExceeded,
	"canceled": context.Canceled,
	"memory":   engine.ErrMemoryLimit,
	"crashed":  engine.ErrCrashed,
}

// remoteError is a Go error rebuilt from the other process: its message
// and the sentinels it wrapped there.
type remoteError struct {
	msg string
	is  []error
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}

// encodeError describes err for the other process.
func encodeError(err error) map[string]any {
	if err == nil {
		return nil
	}
	var snooze *engine.SnoozeError
	var cancel *engine.CancelError
	var ex *script.Exception
	var ce *script.CompileError
	switch {
	case errors.As(err, &snooze):
		return map[string]any{"t": errSnooze, "after": int64(snooze.After)}
	case errors.As(err, &cancel):
		return map[string]any{"t": errCancel, "reason": cancel.Reason}
	case errors.As(err, &ex):
		out := map[string]any{"t": errException, "m": ex.Message, "s": ex.Stack}
		if cause := ex.Unwrap(); cause != nil {
			out["cause"] = encodeError(cause)
		}
		return out
	case errors.As(err, &ce):
		return map[string]any{"t": errCompile, "file": ce.File, "line": int64(ce.Line), "col": int64(ce.Column), "m": ce.Message}
	}
	var is []any
	for name, s := range sentinels {
		if errors.Is(err, s) {
			is = append(is, name)
		}
	}
	return map[string]any{"t": errGo, "m": err.Error(), "is": is}
}

// decodeError rebuilds what encodeError described: the same types for
// snooze, cancel, exceptions and compile errors, a remoteError for the
// rest. Types it does not know (errJS, errValue, errRef) are for the
// runtime that throws them and come back as plain errors here.
func decodeError(o map[string]any) error {
	if o == nil {
		return nil
	}
	m := msg(o)
	switch m.str("t") {
	case errSnooze:
		return &engine.SnoozeError{After: time.Duration(m.int("after"))}
	case errCancel:
		return &engine.CancelError{Reason: m.str("reason")}
	case errException:
		return script.NewException(m.str("m"), m.str("s"), decodeError(m.obj("cause")))
	case errCompile:
		return &script.CompileError{File: m.str("file"), Line: int(m.int("line")), Column: int(m.int("col")), Message: m.str("m")}
	}
	re := &remoteError{msg: m.str("m")}
	if re.msg == "" {
		re.msg = "error"
	}
	for _, n := range m.list("is") {
		if name, ok := n.(string); ok && sentinels[name] != nil {
			re.is = append(re.is, sentinels[name])
		}
	}
	return re
}
