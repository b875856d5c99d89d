package ingest

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

const stripeHeader = "Stripe-Signature"

// stripe verifies Stripe webhooks: Stripe-Signature is
// "t=<unix>,v1=<hex>[,v1=<hex>…]", each v1 an HMAC-SHA256 of "t.body"
// keyed with the whole secret string ("whsec_…" included).
type stripe struct {
	keys      [][]byte
	tolerance time.Duration
}

func (v *stripe) Verify(h Header, body []byte, now time.Time) (string, error) {
	header := strings.TrimSpace(h.Get(stripeHeader))
	if header == "" {
		return "", fmt.Errorf("%w: %s", ErrNoSignature, stripeHeader)
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil && len(b) > 0 {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return "", fmt.Errorf("%w: %s needs t= and v1=", ErrMalformed, stripeHeader)
	}
	if err := checkTimestamp(ts, now, v.tolerance); err != nil {
		return "", err
	}
	ok := false
	for _, k := range v.keys {
		want := sha256MAC(k, []byte(ts), []byte{'.'}, body)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				ok = true
			}
		}
	}
	if !ok {
		return "", ErrBadSignature
	}
	return "", nil
}

func (v *stripe) sign(body []byte, now time.Time) map[string]string {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := sha256MAC(v.keys[0], []byte(ts), []byte{'.'}, body)
	return map[string]string{stripeHeader: "t=" + ts + ",v1=" + hex.EncodeToString(mac)}
}

// fallbackID is the Stripe event's "id" (evt_…), else the body hash.
func (v *stripe) fallbackID(payload any, body []byte) string {
	if id, ok := engine.Lookup(payload, "id"); ok {
		if s, ok := id.(string); ok && s != "" {
			return s
		}
	}
	return bodyID(body)
}

func (v *stripe) keepHeaders() []string { return nil }
