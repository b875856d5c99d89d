package engine

import (
	"context"
	"sync/atomic"
	"time"
)

// Router turns events into jobs with the current Routes and hands both to
// the queue. Reloads swap the Routes; submits in flight keep the set they
// started with.
type Router struct {
	routes atomic.Pointer[Routes]
	queue  Enqueuer
	now    func() time.Time
}

// NewRouter returns a Router over q with routes r.
func NewRouter(q Enqueuer, r *Routes) *Router {
	rt := &Router{queue: q, now: time.Now}
	rt.routes.Store(r)
	return rt
}

// Routes returns the current routes.
func (rt *Router) Routes() *Routes { return rt.routes.Load() }

// Swap installs new routes for events submitted from now on.
func (rt *Router) Swap(r *Routes) { rt.routes.Store(r) }

// Submit stores ev with one job per listener that hears it. payload is ev's
// payload as DecodePayload returns it (for `when` filters). The event is
// stored even when no listener hears it, so it can be replayed after one
// is added.
//
// Submit sets ev.ReceivedAt (UTC, the router's clock): this is the one
// place an event's receipt time is set, for webhooks and emitted events
// alike; callers leave it zero.
func (rt *Router) Submit(ctx context.Context, ev *Event, payload any) (string, error) {
	now := rt.now()
	ev.ReceivedAt = now.UTC()
	jobs := rt.routes.Load().Match(ev.Name, payload, now)
	return rt.queue.Enqueue(ctx, ev, jobs)
}
