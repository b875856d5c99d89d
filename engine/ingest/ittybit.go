package ingest

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// ittybitHeader carries hex(HMAC-SHA256(secret, body)).
const ittybitHeader = "Ittybit-Signature"

// ittybit verifies Ittybit webhooks. The scheme signs only the body, with
// no timestamp: the delivery id (the event's "evt_…" id, or the body hash
// for legacy task objects) is the replay guard.
type ittybit struct{ keys [][]byte }

func (v *ittybit) Verify(h Header, body []byte, _ time.Time) (string, error) {
	sig := strings.TrimSpace(h.Get(ittybitHeader))
	if sig == "" {
		return "", fmt.Errorf("%w: %s", ErrNoSignature, ittybitHeader)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not hex", ErrMalformed, ittybitHeader)
	}
	if !anyKeyMatches(v.keys, got, func(k []byte) []byte { return sha256MAC(k, body) }) {
		return "", ErrBadSignature
	}
	return "", nil
}

func (v *ittybit) sign(body []byte, _ time.Time) map[string]string {
	return map[string]string{ittybitHeader: hex.EncodeToString(sha256MAC(v.keys[0], body))}
}

// fallbackID is the event id of the current envelope
// ({"object":"event","id":"evt_…"}), else the body hash.
func (v *ittybit) fallbackID(payload any, body []byte) string {
	if obj, _ := engine.Lookup(payload, "object"); obj == "event" {
		if id, ok := engine.Lookup(payload, "id"); ok {
			if s, ok := id.(string); ok && s != "" {
				return s
			}
		}
	}
	return bodyID(body)
}

func (v *ittybit) keepHeaders() []string { return nil }
