package ingest

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

const (
	shopifySigHeader = "X-Shopify-Hmac-Sha256"
	shopifyIDHeader  = "X-Shopify-Webhook-Id"
)

// shopify verifies Shopify webhooks: X-Shopify-Hmac-Sha256 is
// base64(HMAC-SHA256(secret, body)).
type shopify struct{ keys [][]byte }

func (v *shopify) Verify(h Header, body []byte, _ time.Time) (string, error) {
	sig := strings.TrimSpace(h.Get(shopifySigHeader))
	if sig == "" {
		return "", fmt.Errorf("%w: %s", ErrNoSignature, shopifySigHeader)
	}
	got, err := decodeBase64(sig)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not base64", ErrMalformed, shopifySigHeader)
	}
	if !anyKeyMatches(v.keys, got, func(k []byte) []byte { return sha256MAC(k, body) }) {
		return "", ErrBadSignature
	}
	return strings.TrimSpace(h.Get(shopifyIDHeader)), nil
}

func (v *shopify) sign(body []byte, _ time.Time) map[string]string {
	return map[string]string{
		shopifySigHeader: base64.StdEncoding.EncodeToString(sha256MAC(v.keys[0], body)),
		shopifyIDHeader:  randomID(""),
	}
}

func (v *shopify) fallbackID(_ any, body []byte) string { return bodyID(body) }

func (v *shopify) keepHeaders() []string {
	return []string{shopifyIDHeader, "X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Triggered-At", "X-Shopify-Event-Id"}
}
