package ingest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Verifier checks one signature scheme with one source's secrets.
type Verifier interface {
	// Verify checks the signature over the raw body with headers; returns
	// the delivery id the scheme provides ("" if none). Errors never
	// contain the secret or the expected signature.
	Verify(h Header, body []byte, now time.Time) (deliveryID string, err error)
}

// Verification failures. Every one means 401; they are distinct so tests
// and logs can tell them apart.
var (
	ErrNoSignature  = errors.New("signature header missing")
	ErrBadSignature = errors.New("signature does not match")
	ErrMalformed    = errors.New("signature header malformed")
	ErrTimestamp    = errors.New("timestamp outside tolerance")
)

// scheme is what every verifier implements beyond Verifier.
type scheme interface {
	Verifier
	// sign returns the headers a genuine sender would send, signed with
	// the first secret.
	sign(body []byte, now time.Time) map[string]string
	// fallbackID gives the delivery id when Verify returned none, from the
	// decoded payload or the raw body.
	fallbackID(payload any, body []byte) string
	// keepHeaders names the headers worth storing with the event (ids and
	// timestamps, never signatures).
	keepHeaders() []string
}

// NewVerifier returns the verifier src.Verify names, keyed with src's
// secrets. An empty or missing secret is an error: it would accept any
// signature.
func NewVerifier(src Source) (Verifier, error) {
	v, err := newScheme(src)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", src.Name, err)
	}
	return v, nil
}

// newScheme builds src's verifier. Its errors start with the field at
// fault ("secret: …"), for the caller to prefix with the source.
func newScheme(src Source) (scheme, error) {
	secrets, err := secretsOf(src)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	tol := src.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	var s scheme
	switch src.Verify {
	case "ittybit":
		s = &ittybit{keys: secrets}
	case "standard-webhooks":
		s, err = newStandard(secrets, tol)
	case "github":
		s = &github{keys: secrets}
	case "stripe":
		s = &stripe{keys: secrets, tolerance: tol}
	case "shopify":
		s = &shopify{keys: secrets}
	case "hmac":
		s, err = newGeneric(src, secrets)
	default:
		return nil, fmt.Errorf("verify: %q is not a known scheme", src.Verify)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Sign returns the headers a genuine sender would send with body at now,
// signed with the source's first secret, for every scheme. Schemes with a
// delivery id header get a fresh random id.
func Sign(src Source, body []byte, now time.Time) (map[string]string, error) {
	s, err := newScheme(src)
	if err != nil {
		return nil, fmt.Errorf("sign for source %q: %w", src.Name, err)
	}
	h := s.sign(body, now)
	h["Content-Type"] = "application/json"
	return h, nil
}

// secretsOf returns the source's secrets as key bytes. An empty list or
// an empty secret would accept any signature: both are errors.
func secretsOf(src Source) ([][]byte, error) {
	if len(src.Secrets) == 0 {
		return nil, errors.New("must be set (an empty secret would accept any signature)")
	}
	keys := make([][]byte, len(src.Secrets))
	for i, s := range src.Secrets {
		if s == "" {
			return nil, fmt.Errorf("[%d] is empty (an empty secret would accept any signature)", i)
		}
		keys[i] = []byte(s.Reveal())
	}
	return keys, nil
}

// checkTimestamp parses a unix-seconds timestamp and rejects it if it is
// further than tol from now in either direction.
func checkTimestamp(ts string, now time.Time, tol time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not unix seconds", ErrMalformed)
	}
	// Compare in seconds so a hostile timestamp cannot overflow time math.
	tolSec := int64((tol + time.Second - 1) / time.Second)
	n := now.Unix()
	if sec < n-tolSec {
		return fmt.Errorf("%w: too old", ErrTimestamp)
	}
	if sec > n+tolSec {
		return fmt.Errorf("%w: in the future", ErrTimestamp)
	}
	return nil
}

// bodyID is the delivery id of last resort: the body's sha256, hex.
func bodyID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// randomID returns prefix followed by 16 random bytes in hex.
func randomID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b)
}
