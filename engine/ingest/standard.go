package ingest

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// standardHeaders is one naming of the Standard Webhooks headers: the
// spec's own, and Svix's, which predates it.
type standardHeaders struct{ id, timestamp, signature string }

var (
	webhookHeaders = standardHeaders{"webhook-id", "webhook-timestamp", "webhook-signature"}
	svixHeaders    = standardHeaders{"svix-id", "svix-timestamp", "svix-signature"}
)

// standard verifies Standard Webhooks (https://www.standardwebhooks.com):
// webhook-signature holds space-separated "v1,<base64>" entries, each an
// HMAC-SHA256 of "id.timestamp.body" under the base64 key after "whsec_".
type standard struct {
	keys      [][]byte
	tolerance time.Duration
}

func newStandard(secrets [][]byte, tol time.Duration) (*standard, error) {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		enc := strings.TrimPrefix(string(s), "whsec_")
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(k) == 0 {
			return nil, fmt.Errorf("secret[%d]: not whsec_ followed by base64", i)
		}
		keys[i] = k
	}
	return &standard{keys: keys, tolerance: tol}, nil
}

func (v *standard) Verify(h Header, body []byte, now time.Time) (string, error) {
	names := webhookHeaders
	if h.Get(names.signature) == "" && h.Get(svixHeaders.signature) != "" {
		names = svixHeaders
	}
	id := strings.TrimSpace(h.Get(names.id))
	ts := strings.TrimSpace(h.Get(names.timestamp))
	sigs := h.Get(names.signature)
	switch {
	case sigs == "":
		return "", fmt.Errorf("%w: %s", ErrNoSignature, names.signature)
	case id == "":
		return "", fmt.Errorf("%w: %s", ErrNoSignature, names.id)
	case ts == "":
		return "", fmt.Errorf("%w: %s", ErrNoSignature, names.timestamp)
	}
	if err := checkTimestamp(ts, now, v.tolerance); err != nil {
		return "", err
	}
	want := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		want[i] = sha256MAC(k, []byte(id), []byte{'.'}, []byte(ts), []byte{'.'}, body)
	}
	ok, sawV1 := false, false
	for _, entry := range strings.Fields(sigs) {
		b64, isV1 := strings.CutPrefix(entry, "v1,")
		if !isV1 {
			continue // other versions (v1a asymmetric) are not ours to check
		}
		got, err := decodeBase64(b64)
		if err != nil || len(got) == 0 {
			continue
		}
		sawV1 = true
		for _, w := range want {
			if hmac.Equal(w, got) {
				ok = true
			}
		}
	}
	if !sawV1 {
		return "", fmt.Errorf("%w: %s has no v1 entry", ErrMalformed, names.signature)
	}
	if !ok {
		return "", ErrBadSignature
	}
	return id, nil
}

func (v *standard) sign(body []byte, now time.Time) map[string]string {
	id := randomID("msg_")
	ts := strconv.FormatInt(now.Unix(), 10)
	return map[string]string{
		webhookHeaders.id:        id,
		webhookHeaders.timestamp: ts,
		webhookHeaders.signature: standardSignature(v.keys[0], id, ts, body),
	}
}

// standardSignature is one "v1,<base64>" entry.
func standardSignature(key []byte, id, ts string, body []byte) string {
	mac := sha256MAC(key, []byte(id), []byte{'.'}, []byte(ts), []byte{'.'}, body)
	return "v1," + base64.StdEncoding.EncodeToString(mac)
}

func (v *standard) fallbackID(_ any, body []byte) string { return bodyID(body) }

func (v *standard) keepHeaders() []string {
	return []string{webhookHeaders.id, webhookHeaders.timestamp, svixHeaders.id, svixHeaders.timestamp}
}
