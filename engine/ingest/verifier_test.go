package ingest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Three secrets in the Standard Webhooks form, usable by every scheme
// (the others use the string as is).
var (
	secretA = "whsec_" + base64.StdEncoding.EncodeToString([]byte("first secret, thirty-two bytes!!"))
	secretB = "whsec_" + base64.StdEncoding.EncodeToString([]byte("second secret, rotated in lately"))
	secretC = "whsec_" + base64.StdEncoding.EncodeToString([]byte("an attacker's guess at the secret"))
)

var testNow = time.Unix(1_750_000_000, 0)

// schemeCase describes one scheme for the shared table: a source and an
// independent signer (written from each sender's documentation, not by
// calling the code under test).
type schemeCase struct {
	name  string
	src   Source
	timed bool
	sign  func(secret string, body []byte, at time.Time) map[string]string
}

func hexMAC(h func() hash.Hash, key string, msg string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func b64MAC(h func() hash.Hash, key []byte, msg string) string {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func source(verify string) Source {
	return Source{Name: verify, Path: "/hooks/" + verify, Verify: verify, Secrets: sec(secretA), Event: "test.event"}
}

func schemeCases() []schemeCase {
	generic := source("hmac")
	generic.Header, generic.Algorithm, generic.Encoding, generic.Prefix = "X-Signature", "sha512", "base64", "sha512="
	generic1 := source("hmac")
	generic1.Name, generic1.Header, generic1.Algorithm, generic1.Encoding = "hmac-sha1", "X-Sig", "sha1", "hex"
	return []schemeCase{
		{name: "ittybit", src: source("ittybit"), sign: func(k string, b []byte, _ time.Time) map[string]string {
			return map[string]string{"Ittybit-Signature": hexMAC(sha256.New, k, string(b))}
		}},
		{name: "github", src: source("github"), sign: func(k string, b []byte, _ time.Time) map[string]string {
			return map[string]string{"X-Hub-Signature-256": "sha256=" + hexMAC(sha256.New, k, string(b)), "X-GitHub-Delivery": "d-1"}
		}},
		{name: "shopify", src: source("shopify"), sign: func(k string, b []byte, _ time.Time) map[string]string {
			return map[string]string{"X-Shopify-Hmac-Sha256": b64MAC(sha256.New, []byte(k), string(b)), "X-Shopify-Webhook-Id": "w-1"}
		}},
		{name: "stripe", src: source("stripe"), timed: true, sign: func(k string, b []byte, at time.Time) map[string]string {
			ts := strconv.FormatInt(at.Unix(), 10)
			return map[string]string{"Stripe-Signature": "t=" + ts + ",v1=" + hexMAC(sha256.New, k, ts+"."+string(b))}
		}},
		{name: "standard-webhooks", src: source("standard-webhooks"), timed: true, sign: func(k string, b []byte, at time.Time) map[string]string {
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(k, "whsec_"))
			ts := strconv.FormatInt(at.Unix(), 10)
			return map[string]string{"webhook-id": "msg_1", "webhook-timestamp": ts,
				"webhook-signature": "v1," + b64MAC(sha256.New, key, "msg_1."+ts+"."+string(b))}
		}},
		{name: "hmac-sha512-base64", src: generic, sign: func(k string, b []byte, _ time.Time) map[string]string {
			return map[string]string{"X-Signature": "sha512=" + b64MAC(sha512.New, []byte(k), string(b))}
		}},
		{name: "hmac-sha1-hex", src: generic1, sign: func(k string, b []byte, _ time.Time) map[string]string {
			return map[string]string{"X-Sig": hexMAC(sha1.New, k, string(b))}
		}},
	}
}

// verifyCase is one Verify call and the error it should give (nil: accept).
type verifyCase struct {
	name    string
	src     Source
	headers map[string]string
	body    []byte
	want    error
}

func TestVerify_Schemes(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","kind":"task.succeeded"}`)
	for _, sc := range schemeCases() {
		rotated := sc.src
		rotated.Secrets = sec(secretC+"-old", secretB)
		if sc.src.Verify == "standard-webhooks" {
			rotated.Secrets = sec(secretC, secretB)
		}
		cases := []verifyCase{
			{name: "valid", src: sc.src, headers: sc.sign(secretA, body, testNow), body: body},
			{name: "rotated second secret", src: rotated, headers: sc.sign(secretB, body, testNow), body: body},
			{name: "missing header", src: sc.src, headers: map[string]string{}, body: body, want: ErrNoSignature},
			{name: "tampered body", src: sc.src, headers: sc.sign(secretA, body, testNow), body: append([]byte(" "), body...), want: ErrBadSignature},
			{name: "wrong secret", src: sc.src, headers: sc.sign(secretC, body, testNow), body: body, want: ErrBadSignature},
			{name: "old secret removed", src: rotated, headers: sc.sign(secretA, body, testNow), body: body, want: ErrBadSignature},
		}
		if sc.timed {
			cases = append(cases,
				verifyCase{name: "expired timestamp", src: sc.src, headers: sc.sign(secretA, body, testNow.Add(-6*time.Minute)), body: body, want: ErrTimestamp},
				verifyCase{name: "future timestamp", src: sc.src, headers: sc.sign(secretA, body, testNow.Add(6*time.Minute)), body: body, want: ErrTimestamp},
				verifyCase{name: "within tolerance", src: sc.src, headers: sc.sign(secretA, body, testNow.Add(-4*time.Minute)), body: body},
			)
		}
		for _, tc := range cases {
			t.Run(sc.name+"/"+tc.name, func(t *testing.T) {
				v, err := NewVerifier(tc.src)
				if err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				_, err = v.Verify(MapHeader(tc.headers), tc.body, testNow)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("Verify: %v, want success", err)
					}
					return
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("Verify: %v, want %v", err, tc.want)
				}
				assertNoLeak(t, err.Error(), sc.sign(secretA, tc.body, testNow))
			})
		}
	}
}

// assertNoLeak fails if msg contains a secret or any signature a genuine
// sender would have sent.
func assertNoLeak(t *testing.T, msg string, genuine map[string]string) {
	t.Helper()
	for _, s := range []string{secretA, secretB, secretC, strings.TrimPrefix(secretA, "whsec_")} {
		if strings.Contains(msg, s) {
			t.Fatalf("error %q contains a secret", msg)
		}
	}
	for _, v := range genuine {
		if len(v) > 16 && strings.Contains(msg, v) {
			t.Fatalf("error %q contains the expected signature", msg)
		}
	}
}

func TestVerify_PublishedVectors(t *testing.T) {
	cases := []struct {
		name    string
		src     Source
		headers map[string]string
		body    string
		now     time.Time
		wantID  string
	}{
		{
			name:    "github docs example",
			src:     Source{Verify: "github", Secrets: sec("It's a Secret to Everybody")},
			headers: map[string]string{"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
			body:    "Hello, World!",
		},
		{
			name: "standard webhooks spec vector",
			src:  Source{Verify: "standard-webhooks", Secrets: sec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
			headers: map[string]string{
				"webhook-id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
				"webhook-timestamp": "1614265330",
				"webhook-signature": "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
			},
			body:   `{"test": 2432232314}`,
			now:    time.Unix(1614265330, 0),
			wantID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
		},
		{
			name: "standard webhooks vector with svix header names",
			src:  Source{Verify: "standard-webhooks", Secrets: sec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
			headers: map[string]string{
				"Svix-Id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
				"Svix-Timestamp": "1614265330",
				"Svix-Signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
			},
			body:   `{"test": 2432232314}`,
			now:    time.Unix(1614265330, 0),
			wantID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
		},
		{
			name:    "stripe t.body (openssl dgst -sha256 -hmac)",
			src:     Source{Verify: "stripe", Secrets: sec("whsec_stripe_test")},
			headers: map[string]string{"Stripe-Signature": "t=1700000000,v1=00ff,v0=abcd,v1=3951c1891e7d7f3735a4bdf78a8a9ae399991085b146a6d01cf2cb08cb948e71"},
			body:    `{"id":"evt_1","type":"invoice.paid"}`,
			now:     time.Unix(1700000030, 0),
		},
		{
			name:    "ittybit hex body hmac (openssl)",
			src:     Source{Verify: "ittybit", Secrets: sec("itty-secret")},
			headers: map[string]string{"Ittybit-Signature": "8c717d4a607bd91ceb59bdd6d3833d080f206d6555e5c1a98e51dc234e94a116"},
			body:    `{"id":"task_1","status":"completed"}`,
		},
		{
			name:    "shopify base64 body hmac (openssl)",
			src:     Source{Verify: "shopify", Secrets: sec("shpss_secret")},
			headers: map[string]string{"X-Shopify-Hmac-Sha256": "7CJMkwk95NxCIZ/lDNFtYTXok569L4I5Jub461+LJGU=", "X-Shopify-Webhook-Id": "b54557e4"},
			body:    `{"id":1,"topic":"orders/create"}`,
			wantID:  "b54557e4",
		},
		{
			name:    "hmac sha1 hex (openssl)",
			src:     Source{Verify: "hmac", Secrets: sec("gen"), Header: "X-Sig", Algorithm: "sha1"},
			headers: map[string]string{"x-sig": "bf21696f44084b0948b32a7bb6c6264e15a617af"},
			body:    `{"a":1}`,
		},
		{
			name:    "hmac sha512 base64 with prefix (openssl)",
			src:     Source{Verify: "hmac", Secrets: sec("gen"), Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Prefix: "v1="},
			headers: map[string]string{"X-Sig": "v1=8enfraj4AwKC2SnNZh2zvObuuiAUDk+RkG6opv+WzSKwJCH3IifXTZkQBPCgz8S6Dk9bvWkUsq/spbN04CmzGw=="},
			body:    `{"a":1}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.src)
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			id, err := v.Verify(MapHeader(tc.headers), []byte(tc.body), tc.now)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id != tc.wantID {
				t.Fatalf("delivery id %q, want %q", id, tc.wantID)
			}
		})
	}
}

func TestSign_RoundTrip(t *testing.T) {
	body := []byte(`{"kind":"x"}`)
	for _, sc := range schemeCases() {
		t.Run(sc.name, func(t *testing.T) {
			h, err := Sign(sc.src, body, testNow)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			v, err := NewVerifier(sc.src)
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			if _, err := v.Verify(MapHeader(h), body, testNow); err != nil {
				t.Fatalf("Verify(Sign()): %v", err)
			}
			// Sign must agree with the sender's documented scheme.
			want := sc.sign(secretA, body, testNow)
			for k, w := range want {
				switch k {
				case "X-GitHub-Delivery", "X-Shopify-Webhook-Id", "webhook-id", "webhook-signature":
					continue // ids are random per delivery, and standard webhooks signs the id
				}
				if got := MapHeader(h).Get(k); got != w {
					t.Fatalf("header %s = %q, want %q", k, got, w)
				}
			}
		})
	}
}

func TestNewVerifier_Errors(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		want string
	}{
		{name: "no secret", src: Source{Verify: "github"}, want: "must be set"},
		{name: "empty secret", src: Source{Verify: "github", Secrets: sec("")}, want: "empty"},
		{name: "empty secret in list", src: Source{Verify: "stripe", Secrets: sec("ok", "")}, want: "empty"},
		{name: "standard secret not base64", src: Source{Verify: "standard-webhooks", Secrets: sec("whsec_not*base64!")}, want: "not whsec_"},
		{name: "unknown scheme", src: Source{Verify: "rot13", Secrets: sec("x")}, want: "not a known scheme"},
		{name: "hmac without header", src: Source{Verify: "hmac", Secrets: sec("x")}, want: "header"},
		{name: "hmac bad algorithm", src: Source{Verify: "hmac", Secrets: sec("x"), Header: "X", Algorithm: "md5"}, want: "algorithm"},
		{name: "hmac bad encoding", src: Source{Verify: "hmac", Secrets: sec("x"), Header: "X", Encoding: "base32"}, want: "encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewVerifier: %v, want error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "not*base64") {
				t.Fatalf("error %q shows the secret", err)
			}
		})
	}
}

func TestVerify_Malformed(t *testing.T) {
	body := []byte(`{}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	cases := []struct {
		name    string
		verify  string
		headers map[string]string
		want    error
	}{
		{name: "github without prefix", verify: "github", headers: map[string]string{"X-Hub-Signature-256": "abcd"}, want: ErrMalformed},
		{name: "github not hex", verify: "github", headers: map[string]string{"X-Hub-Signature-256": "sha256=zz"}, want: ErrMalformed},
		{name: "github empty hex", verify: "github", headers: map[string]string{"X-Hub-Signature-256": "sha256="}, want: ErrBadSignature},
		{name: "ittybit not hex", verify: "ittybit", headers: map[string]string{"Ittybit-Signature": "xyz"}, want: ErrMalformed},
		{name: "shopify not base64", verify: "shopify", headers: map[string]string{"X-Shopify-Hmac-Sha256": "***"}, want: ErrMalformed},
		{name: "stripe no t", verify: "stripe", headers: map[string]string{"Stripe-Signature": "v1=abcd"}, want: ErrMalformed},
		{name: "stripe no v1", verify: "stripe", headers: map[string]string{"Stripe-Signature": "t=" + ts}, want: ErrMalformed},
		{name: "stripe huge t", verify: "stripe", headers: map[string]string{"Stripe-Signature": "t=9223372036854775807,v1=abcd"}, want: ErrTimestamp},
		{name: "stripe negative t", verify: "stripe", headers: map[string]string{"Stripe-Signature": "t=-9223372036854775808,v1=abcd"}, want: ErrTimestamp},
		{name: "standard missing id", verify: "standard-webhooks", headers: map[string]string{"webhook-timestamp": ts, "webhook-signature": "v1,AAAA"}, want: ErrNoSignature},
		{name: "standard missing timestamp", verify: "standard-webhooks", headers: map[string]string{"webhook-id": "m", "webhook-signature": "v1,AAAA"}, want: ErrNoSignature},
		{name: "standard no v1 entry", verify: "standard-webhooks", headers: map[string]string{"webhook-id": "m", "webhook-timestamp": ts, "webhook-signature": "v1a,AAAA"}, want: ErrMalformed},
		{name: "standard bad timestamp", verify: "standard-webhooks", headers: map[string]string{"webhook-id": "m", "webhook-timestamp": "soon", "webhook-signature": "v1,AAAA"}, want: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(source(tc.verify))
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			if _, err := v.Verify(MapHeader(tc.headers), body, testNow); !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMapHeader_Get(t *testing.T) {
	h := MapHeader{"webhook-id": "a", "X-Hub-Signature-256": "b"}
	for name, want := range map[string]string{"Webhook-Id": "a", "WEBHOOK-ID": "a", "x-hub-signature-256": "b", "missing": ""} {
		if got := h.Get(name); got != want {
			t.Errorf("Get(%q) = %q, want %q", name, got, want)
		}
	}
}
