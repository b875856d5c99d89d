package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration the way users write one, in config and
// in scripts alike: time.ParseDuration syntax ("500ms", "1m30s") plus
// whole days ("7d"). Negative durations are an error.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration (like \"500ms\", \"30s\", \"5m\", \"7d\")", s)
	}
	return v, nil
}
