package engine

import (
	"context"
	"log/slog"
)

// Invocation is what a host binding knows about the job calling it.
type Invocation struct {
	// Ctx carries the attempt's deadline. Interrupting JS does not stop Go
	// code, so every binding that waits (network, database, disk) must
	// honour Ctx.
	Ctx    context.Context
	Event  *Event
	Job    *Job
	Logger *slog.Logger // listener, event, job and attempt attached
	// Recorder is set in dry-run mode: bindings with side effects record
	// the call here and skip the effect. Reads may still run.
	Recorder Recorder
}

// Recorder collects the side effects a dry run would have had.
type Recorder interface {
	// Record notes a call such as ("mail", "send", args). The binding
	// then skips the effect and hands the script its own stand-in answer
	// (documented per binding).
	Record(module, fn string, args ...any)
}

// Module is one JS-visible host module: a named export of the
// "switchboard" import (db, http, mail, ittybit, kv, emit…).
type Module interface {
	// Name is the export name, e.g. "db".
	Name() string
	// Exports builds the value scripts see: usually a map of Go funcs
	// (goja converts arguments and results; a non-nil error return
	// becomes a JS exception), or a single func. It is called once per
	// JS runtime; cur returns the invocation of the job that runtime is
	// running at the moment of each call.
	Exports(cur func() *Invocation) any
}
