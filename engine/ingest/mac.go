package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
)

// macOf returns HMAC(key, parts...) with the hash newHash builds.
func macOf(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// sha256MAC is macOf with SHA-256, the hash every named scheme uses.
func sha256MAC(key []byte, parts ...[]byte) []byte {
	return macOf(sha256.New, key, parts...)
}

// anyKeyMatches reports whether got equals the MAC under any key
// (rotation), comparing in constant time.
func anyKeyMatches(keys [][]byte, got []byte, mac func(key []byte) []byte) bool {
	if len(got) == 0 {
		return false
	}
	ok := false
	for _, k := range keys {
		if hmac.Equal(mac(k), got) {
			ok = true
		}
	}
	return ok
}

// decodeBase64 decodes standard base64 strictly: encoding/base64 skips
// \r and \n inside the input, so several header values would decode to
// one signature; only the canonical spelling is accepted.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64")
	}
	return b, nil
}
