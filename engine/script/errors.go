package script

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// maxStackFrames bounds the frames kept in an Exception's stack; a stack
// overflow would otherwise carry a thousand identical lines.
const maxStackFrames = 32

// Exception is a failed attempt: the script threw (or its promise
// rejected) something other than snooze or cancel.
type Exception struct {
	// Message is the thrown value as text, e.g. "TypeError: x is undefined".
	Message string
	// Stack is the JS stack with original file:line:col positions.
	Stack string
	// cause is the Go error a binding threw, if any.
	cause error
}

// Error returns the message.
func (e *Exception) Error() string { return e.Message }

// StackTrace returns the JS stack, for the job's error record.
func (e *Exception) StackTrace() string { return e.Stack }

// Unwrap returns the Go error a host binding threw, if that is what the
// script let through (e.g. a context deadline from db.query).
func (e *Exception) Unwrap() error { return e.cause }

// scriptError maps what goja returned to the errors Run promises.
func scriptError(err error) error {
	var snooze *engine.SnoozeError
	if errors.As(err, &snooze) {
		return snooze
	}
	var cancel *engine.CancelError
	if errors.As(err, &cancel) {
		return cancel
	}
	var overflow *goja.StackOverflowError
	if errors.As(err, &overflow) {
		return &Exception{Message: "RangeError: Maximum call stack size exceeded", Stack: framesText(overflow.Stack())}
	}
	var ce *CompileError
	if errors.As(err, &ce) {
		return ce
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		e := exception(ex.Value())
		if e.Stack == "" {
			e.Stack = framesText(ex.Stack())
		}
		e.cause = ex.Unwrap()
		return e
	}
	return err
}

// rejection maps the reason of a rejected promise.
func rejection(v goja.Value) error {
	e := exception(v)
	if o, ok := v.(*goja.Object); ok {
		// A GoError (what bindings and snooze/cancel throw) keeps the Go
		// error in its value property.
		if cause, ok := exportError(o.Get("value")); ok {
			var snooze *engine.SnoozeError
			if errors.As(cause, &snooze) {
				return snooze
			}
			var cancel *engine.CancelError
			if errors.As(cause, &cancel) {
				return cancel
			}
			e.cause = cause
		}
	}
	return e
}

// exception describes a thrown value: Error objects by name, message and
// stack, anything else by its string form.
func exception(v goja.Value) *Exception {
	if v == nil {
		return &Exception{Message: "undefined"}
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return &Exception{Message: v.String()}
	}
	e := &Exception{Message: v.String()}
	if msg := o.Get("message"); msg != nil && !goja.IsUndefined(msg) {
		name := "Error"
		if n := o.Get("name"); n != nil && !goja.IsUndefined(n) {
			name = n.String()
		}
		e.Message = name + ": " + msg.String()
	}
	if st := o.Get("stack"); st != nil && !goja.IsUndefined(st) {
		e.Stack = cleanStack(st.String())
	}
	return e
}

func exportError(v goja.Value) (error, bool) {
	if v == nil {
		return nil, false
	}
	err, ok := v.Export().(error)
	return err, ok
}

var position = regexp.MustCompile(`([^\s()]+):(\d+):(\d+)(?:\(\d+\))?`)

// cleanStack drops goja's bytecode offsets ("x.ts:3:9(12)" → "x.ts:3:9"),
// makes source-mapped columns 1-based and keeps at most maxStackFrames
// frames.
func cleanStack(s string) string {
	s = position.ReplaceAllStringFunc(s, func(m string) string {
		sub := position.FindStringSubmatch(m)
		line, _ := strconv.Atoi(sub[2])
		col, _ := strconv.Atoi(sub[3])
		return positionText(sub[1], line, col)
	})
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > maxStackFrames+1 {
		more := len(lines) - maxStackFrames - 1
		lines = append(lines[:maxStackFrames+1], "\t... "+strconv.Itoa(more)+" more")
	}
	return strings.Join(lines, "\n")
}

func framesText(frames []goja.StackFrame) string {
	var b strings.Builder
	for i, f := range frames {
		if i == maxStackFrames {
			b.WriteString("\t... " + strconv.Itoa(len(frames)-i) + " more\n")
			break
		}
		p := f.Position()
		b.WriteString("\tat " + f.FuncName() + " (" + positionText(p.Filename, p.Line, p.Column) + ")\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// positionText formats file:line:col. goja reports columns of
// source-mapped positions 0-based (the map's convention) and others
// 1-based; every column leaves here 1-based.
func positionText(file string, line, col int) string {
	if file != "" && !strings.HasSuffix(file, bundleName) && !strings.HasPrefix(file, "switchboard:") {
		col++
	}
	return file + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col)
}
