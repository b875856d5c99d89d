package engine

import "fmt"

// Secret is a string that never prints: String, Format and MarshalText
// give "<redacted>", so a secret cannot leak through logs, errors or the
// admin API by accident. Reveal returns the value for the one place that
// needs it. Config decodes into it and every adapter that holds a
// credential (webhook secrets, database DSN, SMTP password, API keys)
// keeps it in this type.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String redacts; an empty secret prints as "".
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// Format redacts for every verb, %q and %#v included.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// MarshalText redacts, so JSON and TOML encoders never write the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the value (MarshalText's redaction is one-way).
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }
