package jetstream

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Event ids are "evt_" and 16 hex digits of the event's sequence in the
// events stream; job ids are "job_", 16 hex digits of the sequence of the
// message that created the job (its event, or a replay) and 4 of its
// index there. Both therefore sort, as strings, in the order JetStream
// stored them, across every process.
const (
	eventPrefix = "evt_"
	jobPrefix   = "job_"
	maxJobsPer  = 0xffff
)

func eventID(seq uint64) string { return fmt.Sprintf("%s%016x", eventPrefix, seq) }

func jobID(seq uint64, idx int) string { return fmt.Sprintf("%s%016x%04x", jobPrefix, seq, idx) }

// parseEventID returns the sequence an event id names, or false.
func parseEventID(id string) (uint64, bool) {
	if len(id) != len(eventPrefix)+16 || id[:len(eventPrefix)] != eventPrefix {
		return 0, false
	}
	seq, err := strconv.ParseUint(id[len(eventPrefix):], 16, 64)
	return seq, err == nil && seq > 0
}

// parseJobID returns the sequence and index a job id names, or false.
func parseJobID(id string) (uint64, int, bool) {
	if len(id) != len(jobPrefix)+20 || id[:len(jobPrefix)] != jobPrefix {
		return 0, 0, false
	}
	seq, err := strconv.ParseUint(id[len(jobPrefix):len(jobPrefix)+16], 16, 64)
	if err != nil || seq == 0 {
		return 0, 0, false
	}
	idx, err := strconv.ParseUint(id[len(jobPrefix)+16:], 16, 16)
	return seq, int(idx), err == nil
}

// hexName makes a listener name a subject token.
func hexName(s string) string {
	if s == "" {
		return "_"
	}
	return hex.EncodeToString([]byte(s))
}

// dedupeToken is the subject token of a delivery id: a delivery's events
// share one subject, so an atomic "no message on this subject yet" write
// is the dedupe check.
func dedupeToken(source, delivery string) string {
	h := sha256.Sum256([]byte(source + "\x00" + delivery))
	return "d" + hex.EncodeToString(h[:16])
}

// kvToken makes an arbitrary namespace or key a subject token: its
// base64url text, or for long names a hash of it (subjects are short).
func kvToken(s string) string {
	b := base64.RawURLEncoding.EncodeToString([]byte(s))
	if len(b) <= 200 {
		return "k" + b
	}
	h := sha256.Sum256([]byte(s))
	return "h" + hex.EncodeToString(h[:])
}
