package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Ids are a prefix and 16 hex digits of the row's bigint key, as the
// embedded store writes them, so they sort as the rows were created.
const (
	eventPrefix = "evt_"
	jobPrefix   = "job_"
)

func formatID(prefix string, n int64) string { return fmt.Sprintf("%s%016x", prefix, n) }

// parseID returns the key of an id with prefix, and false for anything
// else (which then matches no row).
func parseID(prefix, id string) (int64, bool) {
	hex, ok := strings.CutPrefix(id, prefix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 63)
	if err != nil {
		return 0, false
	}
	return int64(n), true
}

// cursor turns an After id into a key bound: ok is false when after is
// not an id of prefix. An empty after is 0.
func cursor(prefix, after string) (int64, bool) {
	if after == "" {
		return 0, true
	}
	return parseID(prefix, after)
}

// cleanText makes s storable in a PostgreSQL text column, which holds
// neither NUL bytes nor invalid UTF-8: both become U+FFFD. Payloads are
// stored as bytes and never pass through here.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// utc drops the location and monotonic reading: what comes back from
// the database is compared with what went in.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

func millis(d time.Duration) int64 { return d.Milliseconds() }
