package engine

import "context"

// Handler runs one attempt of one listener: in practice, a compiled
// script bound to the script engine.
type Handler interface {
	// Run returns nil when the listener finished, *SnoozeError or
	// *CancelError when it asked for them, an error wrapping ctx.Err()
	// when ctx ended first, one wrapping ErrMemoryLimit when the memory
	// limit stopped it, and any other error when the listener threw.
	// Errors with a StackTrace() string method carry the script's stack.
	Run(ctx context.Context, inv *Invocation) error
}

// Generation is one load of the config and scripts: the routes, every
// listener's settings and every listener's compiled handler, built
// together and swapped in as one (Router.Swap), so a job looks its
// listener up once, in one generation, and never finds the settings of
// one load beside the script of another.
type Generation struct {
	// Seq numbers loads: 1 at start, then one more per applied reload.
	Seq      uint64
	Routes   *Routes
	handlers map[string]Handler
}

// NewGeneration pairs routes with each listener's handler, by listener
// name.
func NewGeneration(seq uint64, routes *Routes, handlers map[string]Handler) *Generation {
	if routes == nil {
		routes = NewRoutes(nil)
	}
	return &Generation{Seq: seq, Routes: routes, handlers: handlers}
}

// Listener returns the listener called name and its handler, both of
// this generation; nil, nil if this generation has no such listener.
func (g *Generation) Listener(name string) (*Listener, Handler) {
	if g == nil {
		return nil, nil
	}
	l := g.Routes.Listener(name)
	if l == nil {
		return nil, nil
	}
	return l, g.handlers[name]
}
