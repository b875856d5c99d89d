package store

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/engine"
)

// limiter returns the token bucket of listener for r, a fresh one when r
// changed (a reload). Only the committer calls it, from lease ops.
func (q *Queue) limiter(listener string, r engine.Rate) *rate.Limiter {
	if q.limiters == nil {
		q.limiters = map[string]*listenerRate{}
	}
	l := q.limiters[listener]
	if l == nil || l.rate != r {
		l = &listenerRate{rate: r, lim: rate.NewLimiter(rate.Every(r.Per/time.Duration(r.N)), r.N)}
		q.limiters[listener] = l
	}
	return l.lim
}

// listenerRate pairs a listener's rate with its token bucket.
type listenerRate struct {
	rate engine.Rate
	lim  *rate.Limiter
}
