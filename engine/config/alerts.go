package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Alert is one [[alerts]] table: a condition on the queue, checked every
// alerts_settings.interval, and who to tell when it fires and recovers.
// Exactly one of Wait, Failures, Depth and Stalled is set.
type Alert struct {
	Name string `toml:"name"`
	// Listener limits the alert to one listener; empty watches every
	// listener, each on its own (it fires and recovers per listener).
	Listener string `toml:"listener"`
	// Wait fires when the oldest due pending job has waited longer.
	Wait Duration `toml:"wait"`
	// Failures fires on at least N failed attempts within a window: "5/10m".
	Failures string `toml:"failures"`
	// Depth fires when this many jobs or more are pending.
	Depth int `toml:"depth"`
	// Stalled fires when due jobs have been pending this long and no
	// attempt finished meanwhile.
	Stalled Duration `toml:"stalled"`
	// Notify lists "mail:ADDRESS" and "webhook:NAME" targets.
	Notify []string `toml:"notify"`
	// Webhooks defines notification webhooks by name; a name defined under
	// any alert (or under alerts_settings) can be used by every alert.
	Webhooks []AlertWebhook `toml:"webhooks"`

	// FailuresRate is Failures parsed by Validate.
	FailuresRate engine.Rate `toml:"-"`
	// Targets is Notify parsed by Validate.
	Targets []NotifyTarget `toml:"-"`
}

// AlertWebhook is one [[alerts.webhooks]] entry: where a "webhook:NAME"
// notification goes, signed the Standard Webhooks way with Secret
// ("whsec_" followed by base64).
type AlertWebhook struct {
	Name   string `toml:"name"`
	URL    string `toml:"url"`
	Secret Secret `toml:"secret"`
}

// NotifyTarget is one parsed notify entry: Kind "mail" with an address,
// or Kind "webhook" with the webhook it names.
type NotifyTarget struct {
	Kind    string
	Address string
	Webhook AlertWebhook
}

// AlertsSettings is [alerts_settings]: what applies to every alert.
type AlertsSettings struct {
	// Repeat is how often a notification repeats while an alert is still
	// firing; 0 sends none between firing and recovery.
	Repeat Duration `toml:"repeat"`
	// HeartbeatURL, when set, is requested (GET) every HeartbeatInterval,
	// so a monitor that stops hearing it knows switchboard is down.
	HeartbeatURL      string   `toml:"heartbeat_url"`
	HeartbeatInterval Duration `toml:"heartbeat_interval"`
	// Interval is how often the alerts are checked.
	Interval Duration `toml:"interval"`
	// AllowCIDRs are private ranges the notification webhooks and the
	// heartbeat may reach (like http.allow_cidrs, for these only).
	AllowCIDRs []string       `toml:"allow_cidrs"`
	Webhooks   []AlertWebhook `toml:"webhooks"`

	// CIDRs is AllowCIDRs parsed by Validate.
	CIDRs []netip.Prefix `toml:"-"`
}

// defaultAlertsSettings are the [alerts_settings] a file leaves out.
func defaultAlertsSettings() AlertsSettings {
	return AlertsSettings{
		Repeat:            Duration(30 * time.Minute),
		HeartbeatInterval: Duration(time.Minute),
		Interval:          Duration(15 * time.Second),
	}
}

// validateAlerts checks [[alerts]] and [alerts_settings] and fills each
// alert's FailuresRate and Targets.
func (c *Config) validateAlerts() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	s := c.AlertsSettings
	if s.HeartbeatURL != "" && !httpURL(s.HeartbeatURL) {
		bad("alerts_settings.heartbeat_url", "%s is not an http(s) URL", c.val("alerts_settings.heartbeat_url", s.HeartbeatURL))
	}
	if s.HeartbeatInterval.D() < time.Second {
		bad("alerts_settings.heartbeat_interval", "must be at least 1s")
	}
	if s.Interval.D() < 100*time.Millisecond {
		bad("alerts_settings.interval", "must be at least 100ms")
	}
	c.AlertsSettings.CIDRs = nil
	for i, cidr := range s.AllowCIDRs {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			bad(fmt.Sprintf("alerts_settings.allow_cidrs[%d]", i), "%q is not a CIDR", cidr)
			continue
		}
		c.AlertsSettings.CIDRs = append(c.AlertsSettings.CIDRs, p.Masked())
	}
	hooks := map[string]AlertWebhook{}
	addHooks := func(key string, list []AlertWebhook) {
		for j, w := range list {
			k := fmt.Sprintf("%s.webhooks[%d]", key, j)
			if err := c.checkWebhook(k, w, hooks); err != nil {
				errs = append(errs, err...)
				continue
			}
			hooks[w.Name] = w
		}
	}
	addHooks("alerts_settings", s.Webhooks)
	for i := range c.Alerts {
		addHooks(fmt.Sprintf("alerts[%d]", i), c.Alerts[i].Webhooks)
	}
	listeners := map[string]bool{}
	for _, l := range c.Listeners {
		listeners[l.Name] = true
	}
	names := map[string]bool{}
	for i := range c.Alerts {
		errs = append(errs, c.Alerts[i].validate(fmt.Sprintf("alerts[%d]", i), c.val, names, listeners, hooks)...)
	}
	return errs
}

// validate checks one alert; val shows a value in an error (never one
// from the environment).
func (a *Alert) validate(key string, val func(key, v string) string, names, listeners map[string]bool, hooks map[string]AlertWebhook) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{key, field}, args...)...))
	}
	switch {
	case strings.TrimSpace(a.Name) == "":
		bad("name", "must be set")
	case names[a.Name]:
		bad("name", "%q is used by another alert", a.Name)
	}
	names[a.Name] = true
	if a.Listener != "" && !listeners[a.Listener] {
		bad("listener", "%q is not a configured listener", a.Listener)
	}
	set := 0
	if a.Wait > 0 {
		set++
	}
	if a.Depth < 0 {
		bad("depth", "must be positive")
	} else if a.Depth > 0 {
		set++
	}
	if a.Stalled > 0 {
		set++
	}
	if a.Failures != "" {
		set++
		r, err := ParseRate(a.Failures)
		if err != nil {
			bad("failures", "%q is not a count within a window like \"5/10m\"", a.Failures)
		}
		a.FailuresRate = r
	}
	if set != 1 {
		bad("wait", "set exactly one of wait, failures, depth, stalled (found %d)", set)
	}
	if len(a.Notify) == 0 {
		bad("notify", "list at least one target (\"mail:ADDRESS\" or \"webhook:NAME\")")
	}
	a.Targets = a.Targets[:0]
	for j, n := range a.Notify {
		field := fmt.Sprintf("notify[%d]", j)
		t, err := parseTarget(n, hooks)
		if err != nil {
			bad(field, "%s: %v", val(key+"."+field, n), err)
			continue
		}
		a.Targets = append(a.Targets, t)
	}
	return errs
}

// parseTarget reads "mail:ADDRESS" or "webhook:NAME"; its errors leave
// the value out (the caller names it).
func parseTarget(s string, hooks map[string]AlertWebhook) (NotifyTarget, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch kind {
	case "mail":
		addr, err := mail.ParseAddress(rest)
		if err != nil {
			return NotifyTarget{}, fmt.Errorf("not a mail address (%v)", err)
		}
		return NotifyTarget{Kind: "mail", Address: addr.String()}, nil
	case "webhook":
		w, ok := hooks[rest]
		if !ok {
			return NotifyTarget{}, errors.New("no [[alerts.webhooks]] entry has that name")
		}
		return NotifyTarget{Kind: "webhook", Webhook: w}, nil
	}
	return NotifyTarget{}, errors.New(`not "mail:ADDRESS" or "webhook:NAME"`)
}

func (c *Config) checkWebhook(key string, w AlertWebhook, seen map[string]AlertWebhook) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{key, field}, args...)...))
	}
	if w.Name == "" {
		bad("name", "must be set")
	} else if prev, dup := seen[w.Name]; dup && (prev.URL != w.URL || prev.Secret != w.Secret) {
		bad("name", "%q is defined twice, differently", w.Name)
	}
	if !httpURL(w.URL) {
		bad("url", "%s is not an http(s) URL", c.val(key+".url", w.URL))
	}
	if _, err := WebhookKey(w.Secret); err != nil {
		bad("secret", "%v", err)
	}
	return errs
}

// WebhookKey decodes a Standard Webhooks secret ("whsec_" + base64) into
// the HMAC key.
func WebhookKey(s Secret) ([]byte, error) {
	enc, ok := strings.CutPrefix(s.Reveal(), "whsec_")
	if !ok {
		return nil, errors.New("must be \"whsec_\" followed by base64 (an empty secret would sign nothing)")
	}
	k, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(k) < 16 {
		return nil, errors.New("must be \"whsec_\" followed by base64 of at least 16 bytes")
	}
	return k, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
