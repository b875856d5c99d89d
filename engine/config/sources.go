package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/engine"
)

// validateSources checks [[sources]] and fills each one's Secrets and
// Limit. Values that came from the environment are named, not shown.
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
		val := func(field, v string) string { return c.val(key+"."+field, v) }
		if s.Name == "" {
			bad("name", "must be set")
		} else if names[s.Name] {
			bad("name", "%s is used by another source", val("name", s.Name))
		}
		names[s.Name] = true
		if !strings.HasPrefix(s.Path, "/") {
			bad("path", "%s must start with /", val("path", s.Path))
		} else if other, dup := paths[s.Path]; dup {
			bad("path", "%s is also the path of source %q", val("path", s.Path), other)
		}
		paths[s.Path] = s.Name
		if !contains(Verifiers, s.Verify) {
			bad("verify", "%s is not one of %s", val("verify", s.Verify), strings.Join(Verifiers, ", "))
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
			bad("delivery_id", "%s is not header:NAME, field:PATH or body", val("delivery_id", s.DeliveryID))
		}
		s.Limit = engine.Rate{}
		if s.Rate != "" {
			if s.Limit, err = ParseRate(s.Rate); err != nil {
				bad("rate", "%s is not a rate like \"10/s\"", val("rate", s.Rate))
			}
		}
		if s.Verify == "hmac" {
			if s.Header == "" {
				bad("header", "must be set for verify = \"hmac\"")
			}
			// Empty algorithm and encoding take the scheme's defaults
			// (sha256, hex), as an empty tolerance takes 5m: the webhook
			// server owns its defaults.
			if s.Algorithm != "" && !contains([]string{"sha1", "sha256", "sha512"}, s.Algorithm) {
				bad("algorithm", "%s is not one of sha1, sha256, sha512", val("algorithm", s.Algorithm))
			}
			if s.Encoding != "" && !contains([]string{"hex", "base64"}, s.Encoding) {
				bad("encoding", "%s is not one of hex, base64", val("encoding", s.Encoding))
			}
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
