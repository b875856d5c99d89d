package ingest

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// generic verifies the configurable `hmac` scheme: src.Header holds
// src.Prefix + encode(HMAC-<algorithm>(secret, body)).
type generic struct {
	keys     [][]byte
	header   string
	prefix   string
	newHash  func() hash.Hash
	encode   func([]byte) string
	decode   func(string) ([]byte, error)
	encoding string
}

func newGeneric(src Source, secrets [][]byte) (*generic, error) {
	if src.Header == "" {
		return nil, errors.New("header: must be set for verify = \"hmac\"")
	}
	g := &generic{keys: secrets, header: src.Header, prefix: src.Prefix}
	switch src.Algorithm {
	case "", "sha256":
		g.newHash = sha256.New
	case "sha1":
		g.newHash = sha1.New
	case "sha512":
		g.newHash = sha512.New
	default:
		return nil, fmt.Errorf("algorithm: %q is not one of sha1, sha256, sha512", src.Algorithm)
	}
	switch src.Encoding {
	case "", "hex":
		g.encode, g.decode, g.encoding = hex.EncodeToString, hex.DecodeString, "hex"
	case "base64":
		g.encode, g.decode, g.encoding = base64.StdEncoding.EncodeToString, decodeBase64, "base64"
	default:
		return nil, fmt.Errorf("encoding: %q is not one of hex, base64", src.Encoding)
	}
	return g, nil
}

func (v *generic) Verify(h Header, body []byte, _ time.Time) (string, error) {
	sig := strings.TrimSpace(h.Get(v.header))
	if sig == "" {
		return "", fmt.Errorf("%w: %s", ErrNoSignature, v.header)
	}
	enc, ok := strings.CutPrefix(sig, v.prefix)
	if !ok {
		return "", fmt.Errorf("%w: %s lacks its prefix", ErrMalformed, v.header)
	}
	got, err := v.decode(enc)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not %s", ErrMalformed, v.header, v.encoding)
	}
	if !anyKeyMatches(v.keys, got, func(k []byte) []byte { return macOf(v.newHash, k, body) }) {
		return "", ErrBadSignature
	}
	return "", nil
}

func (v *generic) sign(body []byte, _ time.Time) map[string]string {
	return map[string]string{v.header: v.prefix + v.encode(macOf(v.newHash, v.keys[0], body))}
}

func (v *generic) fallbackID(_ any, body []byte) string { return bodyID(body) }

func (v *generic) keepHeaders() []string { return nil }
