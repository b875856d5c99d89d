package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Duration is a time.Duration written as "10s", "1m30s" or "7d" in TOML.
type Duration time.Duration

// UnmarshalText parses Go duration syntax, plus a "d" suffix for days.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration the way it is read.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration accepts time.ParseDuration syntax and whole days ("7d");
// it is engine.ParseDuration, which scripts' durations use too.
func ParseDuration(s string) (time.Duration, error) { return engine.ParseDuration(s) }

// Size is a byte count written as an integer or "5MiB", "512KB", "1GiB".
type Size int64

// UnmarshalText parses a size with an optional unit.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// ParseSize parses "1024", "64KiB", "5MiB", "5MB", "1GiB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (like \"5MiB\" or 1048576)", s)
	}
	return n * mult, nil
}

// Secret is engine.Secret: a string that never prints ("<redacted>"),
// whose Reveal gives the value.
type Secret = engine.Secret
