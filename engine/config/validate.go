package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
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
		bad("server.listen", "%s is not host:port", c.val("server.listen", c.Server.Listen))
	}
	if c.Server.BodyLimit <= 0 {
		bad("server.body_limit", "must be positive")
	}
	if c.Admin.Listen != "" {
		if host, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			bad("admin.listen", "%s is not host:port", c.val("admin.listen", c.Admin.Listen))
		} else if c.Admin.Token == "" && !isLoopback(host) {
			bad("admin.token", "must be set when admin.listen (%s) is not a loopback address", c.val("admin.listen", c.Admin.Listen))
		}
	}
	if h := c.Admin.HistoryRetention.D(); h < time.Hour || h > 90*24*time.Hour {
		bad("admin.history_retention", "%s is out of range 1h..90d", h)
	}
	if c.Storage.Dir == "" {
		bad("storage.dir", "must be set")
	}
	c.validateQueueBackend(bad)
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
		bad("database.driver", "%s is not one of sqlite, postgres, mysql", c.val("database.driver", c.Database.Driver))
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
			bad("mail.starttls", "%s is not one of required, opportunistic, none", c.val("mail.starttls", c.Mail.StartTLS))
		}
	case "log":
	default:
		bad("mail.transport", "%s is not one of file, smtp, log", c.val("mail.transport", c.Mail.Transport))
	}
	if c.Mail.From != "" {
		if _, err := mail.ParseAddress(c.Mail.From); err != nil {
			bad("mail.from", "%s is not an address (like \"Media <media@example.com>\")", c.val("mail.from", c.Mail.From))
		}
	}
	c.HTTP.CIDRs = nil
	for i, cidr := range c.HTTP.AllowCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		if err != nil {
			key := fmt.Sprintf("http.allow_cidrs[%d]", i)
			bad(key, "%s is not a CIDR", c.val(key, cidr))
			continue
		}
		c.HTTP.CIDRs = append(c.HTTP.CIDRs, p)
	}
	if c.Ittybit.BaseURL != "" && !strings.HasPrefix(c.Ittybit.BaseURL, "http://") && !strings.HasPrefix(c.Ittybit.BaseURL, "https://") {
		bad("ittybit.base_url", "%s is not an http(s) URL", c.val("ittybit.base_url", c.Ittybit.BaseURL))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%s is not one of debug, info, warn, error", c.val("log.level", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%s is not one of text, json", c.val("log.format", c.Log.Format))
	}
	c.validateScripts(bad)
	errs = append(errs, c.validateSources()...)
	errs = append(errs, c.validateAlerts()...)
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
