package ingest

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

const (
	githubSigHeader      = "X-Hub-Signature-256"
	githubDeliveryHeader = "X-GitHub-Delivery"
)

// github verifies GitHub webhooks: X-Hub-Signature-256 is
// "sha256=" + hex(HMAC-SHA256(secret, body)).
type github struct{ keys [][]byte }

func (v *github) Verify(h Header, body []byte, _ time.Time) (string, error) {
	sig := strings.TrimSpace(h.Get(githubSigHeader))
	if sig == "" {
		return "", fmt.Errorf("%w: %s", ErrNoSignature, githubSigHeader)
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return "", fmt.Errorf("%w: %s lacks the sha256= prefix", ErrMalformed, githubSigHeader)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not hex", ErrMalformed, githubSigHeader)
	}
	if !anyKeyMatches(v.keys, got, func(k []byte) []byte { return sha256MAC(k, body) }) {
		return "", ErrBadSignature
	}
	return strings.TrimSpace(h.Get(githubDeliveryHeader)), nil
}

func (v *github) sign(body []byte, _ time.Time) map[string]string {
	return map[string]string{
		githubSigHeader:      "sha256=" + hex.EncodeToString(sha256MAC(v.keys[0], body)),
		githubDeliveryHeader: randomID(""),
		"User-Agent":         "GitHub-Hookshot/switchboard",
	}
}

func (v *github) fallbackID(_ any, body []byte) string { return bodyID(body) }

func (v *github) keepHeaders() []string {
	return []string{githubDeliveryHeader, "X-GitHub-Event", "X-GitHub-Hook-ID"}
}
