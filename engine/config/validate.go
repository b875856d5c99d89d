package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Verifier names accepted in sources[].verify.
var Verifiers = []string{"ittybit", "standard-webhooks", "github", "stripe", "shopify", "hmac"}

// Validate checks every value and fills the derived fields: each source's
// Secrets and, through Routes, the listeners. Every problem is reported,
// each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "%q is not host:port", c.Server.Listen)
	}
	if c.Server.BodyLimit <= 0 {
		bad("server.body_limit", "must be positive")
	}
	if c.Admin.Listen != "" {
		if host, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			bad("admin.listen", "%q is not host:port", c.Admin.Listen)
		} else if c.Admin.Token == "" && !isLoopback(host) {
			bad("admin.token", "must be set when admin.listen (%s) is not a loopback address", c.Admin.Listen)
		}
	}
	if c.Storage.Dir == "" {
		bad("storage.dir", "must be set")
	}
	switch c.Queue.Backend {
	case "bbolt":
	case "nats":
		c.validateNATS(bad)
	default:
		bad("queue.backend", "%q is not supported (bbolt, nats)", c.Queue.Backend)
	}
	if c.Queue.Workers < 1 || c.Queue.Workers > 1024 {
		bad("queue.workers", "%d is out of range 1..1024", c.Queue.Workers)
	}
	if c.Queue.MaxDepth < 0 {
		bad("queue.max_depth", "must not be negative")
	}
	if c.Queue.CrashLimit < 1 {
		bad("queue.crash_limit", "must be at least 1")
	}
	switch c.Database.Driver {
	case "sqlite", "postgres", "mysql":
	default:
		bad("database.driver", "%q is not one of sqlite, postgres, mysql", c.Database.Driver)
	}
	switch c.Mail.Transport {
	case "file":
		if c.Mail.Dir == "" {
			bad("mail.dir", "must be set for the file transport")
		}
	case "smtp":
		if c.Mail.Host == "" {
			bad("mail.host", "must be set for the smtp transport")
		}
		switch c.Mail.StartTLS {
		case "required", "opportunistic", "none":
		default:
			bad("mail.starttls", "%q is not one of required, opportunistic, none", c.Mail.StartTLS)
		}
	case "log":
	default:
		bad("mail.transport", "%q is not one of file, smtp, log", c.Mail.Transport)
	}
	for i, cidr := range c.HTTP.AllowCIDRs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			bad(fmt.Sprintf("http.allow_cidrs[%d]", i), "%q is not a CIDR", cidr)
		}
	}
	if c.Ittybit.BaseURL != "" && !strings.HasPrefix(c.Ittybit.BaseURL, "http://") && !strings.HasPrefix(c.Ittybit.BaseURL, "https://") {
		bad("ittybit.base_url", "%q is not an http(s) URL", c.Ittybit.BaseURL)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.Scripts.MemoryLimit < 16<<20 {
		bad("scripts.memory_limit", "must be at least 16MiB")
	}
	if c.Scripts.MaxCallStack < 16 {
		bad("scripts.max_call_stack", "must be at least 16")
	}
	errs = append(errs, c.validateSources()...)
	if _, err := c.Routes(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (c *Config) validateSources() []error {
	var errs []error
	paths := map[string]string{}
	names := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		key := fmt.Sprintf("sources[%d]", i)
		bad := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{key, field}, args...)...))
		}
		if s.Name == "" {
			bad("name", "must be set")
		} else if names[s.Name] {
			bad("name", "%q is used by another source", s.Name)
		}
		names[s.Name] = true
		if !strings.HasPrefix(s.Path, "/") {
			bad("path", "%q must start with /", s.Path)
		} else if other, dup := paths[s.Path]; dup {
			bad("path", "%q is also the path of source %q", s.Path, other)
		}
		paths[s.Path] = s.Name
		if !contains(Verifiers, s.Verify) {
			bad("verify", "%q is not one of %s", s.Verify, strings.Join(Verifiers, ", "))
		}
		secrets, err := secretList(s.Secret)
		if err != nil {
			bad("secret", "%v", err)
		}
		s.Secrets = secrets
		if s.Event == "" && s.EventField == "" {
			bad("event", "set event (a fixed name) or event_field (a payload path)")
		}
		if s.DeliveryID != "" && s.DeliveryID != "body" &&
			!strings.HasPrefix(s.DeliveryID, "header:") && !strings.HasPrefix(s.DeliveryID, "field:") {
			bad("delivery_id", "%q is not header:NAME, field:PATH or body", s.DeliveryID)
		}
		if s.Rate != "" {
			if _, err := ParseRate(s.Rate); err != nil {
				bad("rate", "%v", err)
			}
		}
		if s.Verify == "hmac" {
			if s.Header == "" {
				bad("header", "must be set for verify = \"hmac\"")
			}
			if s.Algorithm == "" {
				s.Algorithm = "sha256"
			}
			if !contains([]string{"sha1", "sha256", "sha512"}, s.Algorithm) {
				bad("algorithm", "%q is not one of sha1, sha256, sha512", s.Algorithm)
			}
			if s.Encoding == "" {
				s.Encoding = "hex"
			}
			if !contains([]string{"hex", "base64"}, s.Encoding) {
				bad("encoding", "%q is not one of hex, base64", s.Encoding)
			}
		}
		if s.Tolerance == 0 {
			s.Tolerance = Duration(5 * time.Minute)
		}
	}
	return errs
}

// secretList normalises `secret`: a string or a list of strings, none
// empty. An empty secret would accept every signature: it is an error.
func secretList(raw any) ([]Secret, error) {
	var list []any
	switch v := raw.(type) {
	case nil:
		return nil, errors.New("must be set (an empty secret would accept any signature)")
	case string:
		list = []any{v}
	case []any:
		list = v
	default:
		return nil, fmt.Errorf("must be a string or a list of strings, not %T", raw)
	}
	if len(list) == 0 {
		return nil, errors.New("must be set (an empty secret would accept any signature)")
	}
	out := make([]Secret, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("[%d] must be a string, not %T", i, item)
		}
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("[%d] is empty (an empty secret would accept any signature)", i)
		}
		out = append(out, Secret(s))
	}
	return out, nil
}

// Routes builds the engine's listeners from [[listeners]] and [defaults],
// resolving script paths against the config's directory.
func (c *Config) Routes() (*engine.Routes, error) {
	var errs []error
	var ls []*engine.Listener
	seen := map[string]bool{}
	defBackoff, err := parseBackoff("defaults.backoff", c.Defaults.Backoff, c.Defaults.BackoffBase, c.Defaults.BackoffMax)
	if err != nil {
		errs = append(errs, err)
	}
	for i, l := range c.Listeners {
		key := fmt.Sprintf("listeners[%d]", i)
		bad := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{key, field}, args...)...))
		}
		el := &engine.Listener{
			Name: l.Name, On: l.On, Tries: l.Tries, Timeout: l.Timeout.D(),
			Delay: l.Delay.D(), Concurrency: l.Concurrency, Backoff: defBackoff,
		}
		if l.Name == "" {
			bad("name", "must be set")
		} else if seen[l.Name] {
			bad("name", "%q is used by another listener", l.Name)
		}
		seen[l.Name] = true
		if l.Script == "" {
			bad("script", "must be set")
		} else {
			el.Script = l.Script
			if !filepath.IsAbs(el.Script) {
				el.Script = filepath.Join(c.Dir, l.Script)
			}
			if _, err := os.Stat(el.Script); err != nil {
				bad("script", "%s: no such file", l.Script)
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
		if l.Backoff != nil {
			base, max := l.BackoffBase, l.BackoffMax
			if base == 0 {
				base = c.Defaults.BackoffBase
			}
			if max == 0 {
				max = c.Defaults.BackoffMax
			}
			if el.Backoff, err = parseBackoff(key+".backoff", l.Backoff, base, max); err != nil {
				errs = append(errs, err)
			}
		}
		if l.Rate != "" {
			if el.Rate, err = ParseRate(l.Rate); err != nil {
				bad("rate", "%v", err)
			}
		}
		if el.When, err = engine.NewFilter(key+".when", l.When); err != nil {
			errs = append(errs, err)
		}
		if l.OrderBy != "" {
			if !validPath(l.OrderBy) {
				bad("order_by", "%q is not a payload path like \"data.id\"", l.OrderBy)
			}
			el.OrderBy = l.OrderBy
		}
		ls = append(ls, el)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return engine.NewRoutes(ls), nil
}

// parseBackoff reads ["10s","1m"] (last repeats) or "exponential".
func parseBackoff(key string, raw any, base, max Duration) (engine.Backoff, error) {
	switch v := raw.(type) {
	case string:
		if v != "exponential" {
			return engine.Backoff{}, fmt.Errorf("%s: %q is not a list of durations or \"exponential\"", key, v)
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
				return engine.Backoff{}, fmt.Errorf("%s[%d]: %v", key, i, err)
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Resolve makes a path from the config file absolute (relative to Dir).
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// validPath reports whether p is a dot path into a payload: non-empty
// parts separated by single dots.
func validPath(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if part == "" || strings.TrimSpace(part) != part {
			return false
		}
	}
	return p != ""
}
