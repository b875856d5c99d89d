package scripttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// run runs a listener once, the way a worker would, and returns
// {listener, ok, error, snoozed, cancelled, calls(name?)}.
func (tc *testCase) run(call goja.FunctionCall) goja.Value {
	vm := tc.f.vm
	s := tc.f.s
	name := call.Argument(0).String()
	l := s.routes.Listener(name)
	if l == nil {
		panic(vm.NewGoError(fmt.Errorf("run: no listener named %q in config (have: %s)", name, s.listenerNames())))
	}
	code, err := s.script(l)
	if err != nil {
		panic(vm.NewGoError(fmt.Errorf("run %s: %w", name, err)))
	}
	payload, err := json.Marshal(exportArg(call.Argument(1)))
	if err != nil {
		panic(vm.NewGoError(fmt.Errorf("run %s: payload is not JSON-serialisable: %w", name, err)))
	}
	opts, err := parseRunOptions(call.Argument(2))
	if err != nil {
		panic(vm.NewGoError(fmt.Errorf("run %s: %w", name, err)))
	}
	tc.runs++
	ev, job := opts.build(l, tc.runs, payload)

	ctx, cancel := context.WithTimeout(tc.ctx, l.Timeout)
	inv := &engine.Invocation{Ctx: ctx, Event: ev, Job: job,
		Logger: tc.logger.With("listener", l.Name, "attempt", job.Attempt)}
	tc.calls = nil
	runErr := tc.eng.Run(ctx, code, inv)
	ending := engine.Classify(runErr, ctx.Err(), l.Timeout, false)
	cancel()
	calls := tc.calls
	tc.calls = nil
	return runResult(vm, l.Name, ending, calls)
}

// runResult builds the value run() returns from how the run ended.
func runResult(vm *goja.Runtime, listener string, end engine.Ending, calls []Call) goja.Value {
	res := vm.NewObject()
	errV, snoozed, cancelled := goja.Null(), goja.Null(), goja.Null()
	switch {
	case end.Outcome == engine.Snoozed:
		snoozed = vm.ToValue(end.SnoozeFor.String())
	case end.Err != nil && end.Err.Kind == engine.KindCancel:
		cancelled = vm.ToValue(end.Err.Message)
	case end.Err != nil:
		errV = toJS(vm, map[string]any{"message": end.Err.Message, "stack": userStack(end.Err.Stack),
			"kind": string(end.Err.Kind)})
	}
	err := end.Outcome != engine.Succeeded
	_ = res.Set("listener", listener)
	_ = res.Set("ok", !err)
	_ = res.Set("error", errV)
	_ = res.Set("snoozed", snoozed)
	_ = res.Set("cancelled", cancelled)
	_ = res.Set("calls", func(name string) goja.Value {
		var out []any
		for _, c := range calls {
			if matchCall(c, name) {
				out = append(out, map[string]any{"module": c.Module, "fn": c.Fn, "name": c.Name(), "args": c.Args})
			}
		}
		if out == nil {
			out = []any{}
		}
		return toJS(vm, out)
	})
	return res
}

// runOptions is run()'s third argument.
type runOptions struct {
	Attempt  int          `json:"attempt"`
	MaxTries int          `json:"maxTries"`
	JobID    string       `json:"jobId"`
	Event    engine.Event `json:"event"`
}

func parseRunOptions(v goja.Value) (runOptions, error) {
	var o runOptions
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return o, nil
	}
	raw, err := json.Marshal(exportArg(v))
	if err != nil {
		return o, fmt.Errorf("options: %w", err)
	}
	var strict struct {
		Attempt  int    `json:"attempt"`
		MaxTries int    `json:"maxTries"`
		JobID    string `json:"jobId"`
		Event    struct {
			ID         string            `json:"id"`
			Name       string            `json:"name"`
			Source     string            `json:"source"`
			ReceivedAt time.Time         `json:"receivedAt"`
			Headers    map[string]string `json:"headers"`
			Parent     string            `json:"parent"`
		} `json:"event"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&strict); err != nil {
		return o, fmt.Errorf("options (attempt, maxTries, jobId, event {id, name, source, receivedAt, headers, parent}): %w", err)
	}
	o.Attempt, o.MaxTries, o.JobID = strict.Attempt, strict.MaxTries, strict.JobID
	e := strict.Event
	o.Event = engine.Event{ID: e.ID, Name: e.Name, Source: e.Source, ReceivedAt: e.ReceivedAt, Headers: e.Headers, Parent: e.Parent}
	return o, nil
}

// build makes the event and job of the n-th run of a test: event
// "evt_test_<n>" named after the listener's first `on` name, source
// "test", job "job_evt_test_<n>_<listener>" on attempt 1, unless the options
// say otherwise.
func (o runOptions) build(l *engine.Listener, n int, payload []byte) (*engine.Event, *engine.Job) {
	ev := o.Event
	if ev.ID == "" {
		ev.ID = fmt.Sprintf("evt_test_%d", n)
	}
	if ev.Name == "" {
		ev.Name = "test"
		if len(l.On) > 0 && l.On[0] != "*" {
			ev.Name = l.On[0]
		}
	}
	if ev.Source == "" {
		ev.Source = "test"
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = time.Now().UTC()
	}
	if ev.Headers == nil {
		ev.Headers = map[string]string{}
	}
	ev.Payload = payload
	job := &engine.Job{ID: o.JobID, EventID: ev.ID, Listener: l.Name, State: engine.JobRunning,
		Attempt: max(o.Attempt, 1), MaxTries: o.MaxTries}
	if job.ID == "" {
		job.ID = "job_" + ev.ID + "_" + l.Name
	}
	if job.MaxTries <= 0 {
		job.MaxTries = max(l.Tries, job.Attempt)
	}
	return &ev, job
}
