package alert

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Kind is what a rule watches.
type Kind string

// The rule kinds of [[alerts]].
const (
	Wait     Kind = "wait"     // the oldest due pending job has waited longer than Limit
	Failures Kind = "failures" // at least Count failed attempts within Limit
	Depth    Kind = "depth"    // at least Count jobs pending
	Stalled  Kind = "stalled"  // due jobs pending for Limit and no attempt finished meanwhile
)

// Rule is one [[alerts]] entry.
type Rule struct {
	Name string
	// Listener limits the rule to one listener; empty: every listener,
	// each on its own.
	Listener string
	Kind     Kind
	Limit    time.Duration // Wait, Stalled; the window of Failures
	Count    int           // Failures, Depth
	Targets  []Target
}

// Target is where a notification goes: a mail address, or a webhook URL
// with its Standard Webhooks key.
type Target struct {
	Mail string // "ops@example.com"
	// Webhook names the webhook ([[alerts.webhooks]] name) for logs.
	Webhook string
	URL     string
	Key     []byte
}

// String names the target as config does: "mail:ADDRESS" or "webhook:NAME".
func (t Target) String() string {
	if t.Mail != "" {
		return "mail:" + t.Mail
	}
	return "webhook:" + t.Webhook
}

// window is how much history a rule needs.
func (r Rule) window() time.Duration {
	if r.Kind == Failures || r.Kind == Stalled {
		return r.Limit
	}
	return 0
}

// Reading is one rule checked for one listener.
type Reading struct {
	Firing bool
	// Value is what was measured, in the rule's terms ("3m12s", "7").
	Value string
	// Summary says it in a sentence, for mail subjects and logs.
	Summary string
}

// view is everything one round of checks reads.
type view struct {
	now     time.Time
	stats   engine.Stats
	samples []engine.Sample
}

// check reads rule r for listener l.
func (v *view) check(r Rule, l string) Reading {
	switch r.Kind {
	case Wait:
		age := v.age(l)
		return Reading{Firing: age > r.Limit, Value: age.String(),
			Summary: fmt.Sprintf("%s: the oldest due pending job has waited %s (limit %s)", l, age, r.Limit)}
	case Failures:
		_, failed := v.finished(l, r.Limit)
		return Reading{Firing: failed >= uint64(r.Count), Value: fmt.Sprint(failed),
			Summary: fmt.Sprintf("%s: %d failed attempts in the last %s (limit %d)", l, failed, r.Limit, r.Count)}
	case Depth:
		n := v.stats.Listeners[l][engine.JobPending]
		return Reading{Firing: n >= r.Count, Value: fmt.Sprint(n),
			Summary: fmt.Sprintf("%s: %d jobs pending (limit %d)", l, n, r.Count)}
	case Stalled:
		age := v.age(l)
		done, _ := v.finished(l, r.Limit)
		_, paused := v.stats.Paused[l]
		firing := !paused && age >= r.Limit && done == 0
		return Reading{Firing: firing, Value: fmt.Sprint(done),
			Summary: fmt.Sprintf("%s: due jobs have waited %s and no attempt finished in the last %s", l, age, r.Limit)}
	}
	return Reading{}
}

// age is how long l's oldest due pending job has waited; 0 if none.
func (v *view) age(l string) time.Duration {
	t, ok := v.stats.OldestDueBy[l]
	if !ok || t.IsZero() {
		return 0
	}
	return max(v.now.Sub(t), 0).Truncate(time.Second)
}

// finished sums l's attempts (and failed ones) in the minutes that
// overlap the last d.
func (v *view) finished(l string, d time.Duration) (count, failed uint64) {
	series := engine.JobSeries(l)
	from := v.now.Add(-d)
	for _, s := range v.samples {
		if s.Series == series && s.Minute.Add(time.Minute).After(from) {
			count += s.Count
			failed += s.Failed
		}
	}
	return count, failed
}

// listeners are the listeners rule r watches: its own, or every listener
// configured or holding jobs.
func (v *view) listeners(r Rule, configured []string) []string {
	if r.Listener != "" {
		return []string{r.Listener}
	}
	seen := map[string]bool{}
	var out []string
	add := func(l string) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	for _, l := range configured {
		add(l)
	}
	extra := slices.Sorted(maps.Keys(v.stats.Listeners))
	for _, l := range extra {
		add(l)
	}
	return out
}
