package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Routes builds the engine's listeners from [[listeners]] and [defaults],
// resolving script paths against the config's directory. Every problem is
// reported, each naming its key.
func (c *Config) Routes() (*engine.Routes, error) {
	var errs []error
	var ls []*engine.Listener
	seen := map[string]bool{}
	defBackoff, err := c.parseBackoff("defaults.backoff", c.Defaults.Backoff, c.Defaults.BackoffBase, c.Defaults.BackoffMax)
	if err != nil {
		errs = append(errs, err)
	}
	for i, l := range c.Listeners {
		key := fmt.Sprintf("listeners[%d]", i)
		if l.Name != "" && seen[l.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %s is used by another listener", key, c.val(key+".name", l.Name)))
		}
		seen[l.Name] = true
		el, lerrs := c.listener(key, l, defBackoff)
		errs = append(errs, lerrs...)
		ls = append(ls, el)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return engine.NewRoutes(ls), nil
}

// listener builds one [[listeners]] table (at key) over the defaults.
func (c *Config) listener(key string, l Listener, defBackoff engine.Backoff) (*engine.Listener, []error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{key, field}, args...)...))
	}
	el := &engine.Listener{
		Name: l.Name, On: l.On, Tries: l.Tries, Timeout: l.Timeout.D(),
		Delay: l.Delay.D(), Concurrency: l.Concurrency, Backoff: defBackoff,
	}
	if l.Name == "" {
		bad("name", "must be set")
	}
	if l.Script == "" {
		bad("script", "must be set")
	} else {
		el.Script = c.Resolve(l.Script)
		if _, err := os.Stat(el.Script); err != nil {
			shown := l.Script // a path reads best unquoted
			if _, env := c.fromEnv[key+".script"]; env {
				shown = c.val(key+".script", l.Script)
			}
			bad("script", "%s: no such file", shown)
		}
	}
	if len(l.On) == 0 {
		bad("on", "list at least one event name (or \"*\")")
	}
	if el.Tries == 0 {
		el.Tries = c.Defaults.Tries
	}
	if el.Tries < 1 {
		bad("tries", "must be at least 1")
	}
	if el.Timeout == 0 {
		el.Timeout = c.Defaults.Timeout.D()
	}
	if el.Concurrency == 0 {
		el.Concurrency = c.Defaults.Concurrency
	}
	if el.Concurrency < 0 {
		bad("concurrency", "must not be negative")
	}
	var err error
	if l.Backoff != nil {
		base, max := cmp.Or(l.BackoffBase, c.Defaults.BackoffBase), cmp.Or(l.BackoffMax, c.Defaults.BackoffMax)
		if el.Backoff, err = c.parseBackoff(key+".backoff", l.Backoff, base, max); err != nil {
			errs = append(errs, err)
		}
	}
	if l.Rate != "" {
		if el.Rate, err = ParseRate(l.Rate); err != nil {
			bad("rate", "%s is not a rate like \"10/s\"", c.val(key+".rate", l.Rate))
		}
	}
	if el.When, err = engine.NewFilter(key+".when", l.When); err != nil {
		errs = append(errs, err)
	}
	if l.OrderBy != "" {
		if !engine.ValidPath(l.OrderBy) {
			bad("order_by", "%s is not a payload path like \"data.id\"", c.val(key+".order_by", l.OrderBy))
		}
		el.OrderBy = l.OrderBy
	}
	return el, errs
}

// parseBackoff reads ["10s","1m"] (last repeats) or "exponential".
func (c *Config) parseBackoff(key string, raw any, base, max Duration) (engine.Backoff, error) {
	switch v := raw.(type) {
	case string:
		if v != "exponential" {
			return engine.Backoff{}, fmt.Errorf("%s: %s is not a list of durations or \"exponential\"", key, c.val(key, v))
		}
		return engine.Backoff{Base: base.D(), Max: max.D()}, nil
	case []any:
		if len(v) == 0 {
			return engine.Backoff{}, fmt.Errorf("%s: list at least one duration", key)
		}
		b := engine.Backoff{}
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return engine.Backoff{}, fmt.Errorf("%s[%d]: %v is not a duration string", key, i, item)
			}
			d, err := ParseDuration(s)
			if err != nil {
				k := fmt.Sprintf("%s[%d]", key, i)
				return engine.Backoff{}, fmt.Errorf("%s: %s is not a duration (like \"500ms\", \"30s\", \"5m\", \"7d\")", k, c.val(k, s))
			}
			b.Steps = append(b.Steps, d)
		}
		return b, nil
	}
	return engine.Backoff{}, fmt.Errorf("%s: %v is not a list of durations or \"exponential\"", key, raw)
}

// ParseRate reads "N/unit" where unit is s, m, h or a duration ("10/s",
// "600/m", "5/500ms").
func ParseRate(s string) (engine.Rate, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || count < 1 {
		return engine.Rate{}, fmt.Errorf("%q is not a rate like \"10/s\"", s)
	}
	switch per {
	case "s":
		per = "1s"
	case "m":
		per = "1m"
	case "h":
		per = "1h"
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return engine.Rate{}, fmt.Errorf("%q is not a rate like \"10/s\"", s)
	}
	return engine.Rate{N: count, Per: d}, nil
}
