package engine

import "time"

// Routes is an immutable set of listeners. Reloads build a new Routes and
// swap it in; readers never see a half-built set.
type Routes struct {
	Listeners []*Listener
	byName    map[string]*Listener
}

// NewRoutes indexes listeners by name. Names must be unique (config
// validation guarantees it).
func NewRoutes(ls []*Listener) *Routes {
	r := &Routes{Listeners: ls, byName: make(map[string]*Listener, len(ls))}
	for _, l := range ls {
		r.byName[l.Name] = l
	}
	return r
}

// Listener returns the listener called name, or nil.
func (r *Routes) Listener(name string) *Listener {
	if r == nil {
		return nil
	}
	return r.byName[name]
}

// Match returns one NewJob per listener that hears an event called name
// with the decoded payload, scheduled relative to now.
func (r *Routes) Match(name string, payload any, now time.Time) []NewJob {
	if r == nil {
		return nil
	}
	var jobs []NewJob
	for _, l := range r.Listeners {
		if !l.Hears(name, payload) {
			continue
		}
		jobs = append(jobs, NewJob{Listener: l.Name, MaxTries: l.Tries, RunAt: now.Add(l.Delay), OrderKey: l.OrderKey(payload)})
	}
	return jobs
}
