package engine

import (
	"math/rand/v2"
	"time"
)

// Listener is one script and the rules for running it: which events it
// hears, how often it may try, how long each try may take.
type Listener struct {
	Name   string
	Script string   // absolute path of the entry script
	On     []string // event names; "*" matches every event
	When   Filter   // optional payload filter; no match, no job

	Tries       int           // attempts before the job fails for good (≥1)
	Backoff     Backoff       // wait before attempt n+1
	Timeout     time.Duration // per attempt; then the script is interrupted
	Delay       time.Duration // wait before the first attempt
	Concurrency int           // max jobs of this listener at once; 0 = workers
	Rate        Rate          // max attempts started per interval; zero = no limit
	// OrderBy is a payload path ("data.id"): jobs whose payloads hold the
	// same value there run one at a time, in the order their events were
	// received. Empty: no ordering.
	OrderBy string
}

// OrderKey returns the job ordering key of a payload: the text of the
// value at l.OrderBy (strings as they are, anything else as its JSON),
// or "" when the listener has no order_by or the payload no such value
// (such a job is not held back by, and does not hold back, any other).
func (l *Listener) OrderKey(payload any) string {
	if l.OrderBy == "" {
		return ""
	}
	v, ok := Lookup(payload, l.OrderBy)
	if !ok || v == nil {
		return ""
	}
	return ScalarText(v)
}

// Hears reports whether l wants a job for an event named name with the
// given decoded payload.
func (l *Listener) Hears(name string, payload any) bool {
	heard := false
	for _, on := range l.On {
		if on == "*" || on == name {
			heard = true
			break
		}
	}
	return heard && l.When.Match(payload)
}

// Backoff gives the wait before the next attempt after attempt n failed.
// A non-empty Steps list is used as is, its last value repeating;
// otherwise the wait grows as Base·2^(n-1), capped at Max, with ±20% jitter.
type Backoff struct {
	Steps []time.Duration
	Base  time.Duration
	Max   time.Duration
}

// After returns the wait after failed attempt n (1-based).
func (b Backoff) After(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if len(b.Steps) > 0 {
		if n > len(b.Steps) {
			n = len(b.Steps)
		}
		return b.Steps[n-1]
	}
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	if d <= 0 {
		return 0
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
}

// Rate is "N per Per": at most N attempts of a listener start in any Per.
type Rate struct {
	N   int
	Per time.Duration
}

// IsZero reports whether no rate limit is set.
func (r Rate) IsZero() bool { return r.N <= 0 || r.Per <= 0 }
