package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// RouterQueue is what the Router needs from the queue.
type RouterQueue interface {
	Enqueuer
	Replayer
}

// Router turns events into jobs with the current Generation's routes and
// hands both to the queue. Reloads swap the Generation; submits in flight
// keep the one they started with.
type Router struct {
	gen   atomic.Pointer[Generation]
	queue RouterQueue
	now   func() time.Time
}

// NewRouter returns a Router over q serving gen.
func NewRouter(q RouterQueue, gen *Generation) *Router {
	rt := &Router{queue: q, now: time.Now}
	rt.gen.Store(gen)
	return rt
}

// Generation returns the generation serving now.
func (rt *Router) Generation() *Generation { return rt.gen.Load() }

// Routes returns the current routes.
func (rt *Router) Routes() *Routes {
	if g := rt.gen.Load(); g != nil {
		return g.Routes
	}
	return nil
}

// Swap installs gen for events submitted and jobs started from now on.
func (rt *Router) Swap(gen *Generation) { rt.gen.Store(gen) }

// Submit stores ev with one job per listener that hears it. payload is ev's
// payload as DecodePayload returns it (for `when` filters and `order_by` keys). The event is
// stored even when no listener hears it, so it can be replayed after one
// is added.
//
// Submit sets ev.ReceivedAt (UTC, the router's clock): this is the one
// place an event's receipt time is set, for webhooks and emitted events
// alike; callers leave it zero.
func (rt *Router) Submit(ctx context.Context, ev *Event, payload any) (string, error) {
	now := rt.now()
	ev.ReceivedAt = now.UTC()
	jobs := rt.Routes().Match(ev.Name, payload, now)
	return rt.queue.Enqueue(ctx, ev, jobs)
}

// Replay gives a stored event one new job per listener of the current
// generation that hears it now, and returns their ids. An event no
// current listener hears is an error wrapping ErrConflict.
func (rt *Router) Replay(ctx context.Context, eventID string) ([]string, error) {
	ev, _, err := rt.queue.GetEvent(ctx, eventID)
	if err != nil {
		return nil, err
	}
	payload, err := DecodePayload(ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", eventID, err)
	}
	jobs := rt.Routes().Match(ev.Name, payload, rt.now())
	if len(jobs) == 0 {
		return nil, fmt.Errorf("replay %s: no current listener hears %q: %w", eventID, ev.Name, ErrConflict)
	}
	ids, err := rt.queue.AddJobs(ctx, eventID, jobs)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", eventID, err)
	}
	return ids, nil
}
