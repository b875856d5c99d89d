package ingest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// fuzzVerify runs src's verifier on arbitrary bytes placed in the named
// headers. It must never panic, and may accept only when genuine (an
// independent recomputation of the MAC) says the input was signed with
// the key.
func fuzzVerify(f *testing.F, src Source, names [3]string, genuine func(h MapHeader, body []byte) bool) {
	v, err := NewVerifier(src)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, a, b, c string) {
		h := MapHeader{}
		for i, val := range []string{a, b, c} {
			if names[i] != "" {
				h[names[i]] = val
			}
		}
		_, err := v.Verify(h, body, testNow)
		if err == nil && !genuine(h, body) {
			t.Fatalf("accepted a body not signed with the key: headers %q", h)
		}
	})
}

// containsFold reports whether the header holds want, ignoring case (hex
// decoding accepts either case).
func containsFold(header, want string) bool {
	return strings.Contains(strings.ToLower(header), strings.ToLower(want))
}

func FuzzVerify_Ittybit(f *testing.F) {
	fuzzVerify(f, source("ittybit"), [3]string{"Ittybit-Signature"}, func(h MapHeader, body []byte) bool {
		return containsFold(h.Get("Ittybit-Signature"), hexMAC(sha256.New, secretA, string(body)))
	})
}

func FuzzVerify_GitHub(f *testing.F) {
	fuzzVerify(f, source("github"), [3]string{"X-Hub-Signature-256", "X-GitHub-Delivery"}, func(h MapHeader, body []byte) bool {
		return containsFold(h.Get("X-Hub-Signature-256"), hexMAC(sha256.New, secretA, string(body)))
	})
}

func FuzzVerify_Shopify(f *testing.F) {
	fuzzVerify(f, source("shopify"), [3]string{"X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"}, func(h MapHeader, body []byte) bool {
		return strings.Contains(h.Get("X-Shopify-Hmac-Sha256"), b64MAC(sha256.New, []byte(secretA), string(body)))
	})
}

func FuzzVerify_Stripe(f *testing.F) {
	fuzzVerify(f, source("stripe"), [3]string{"Stripe-Signature"}, func(h MapHeader, body []byte) bool {
		for _, part := range strings.Split(h.Get("Stripe-Signature"), ",") {
			if ts, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok &&
				containsFold(h.Get("Stripe-Signature"), hexMAC(sha256.New, secretA, ts+"."+string(body))) {
				return true
			}
		}
		return false
	})
}

func FuzzVerify_StandardWebhooks(f *testing.F) {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secretA, "whsec_"))
	fuzzVerify(f, source("standard-webhooks"), [3]string{"webhook-id", "webhook-timestamp", "webhook-signature"}, func(h MapHeader, body []byte) bool {
		id, ts := strings.TrimSpace(h.Get("webhook-id")), strings.TrimSpace(h.Get("webhook-timestamp"))
		return strings.Contains(h.Get("webhook-signature"), b64MAC(sha256.New, key, id+"."+ts+"."+string(body)))
	})
}

func FuzzVerify_HMAC(f *testing.F) {
	src := source("hmac")
	src.Header, src.Algorithm, src.Prefix = "X-Sig", "sha1", "sha1="
	fuzzVerify(f, src, [3]string{"X-Sig"}, func(h MapHeader, body []byte) bool {
		return containsFold(h.Get("X-Sig"), hexMAC(sha1.New, secretA, string(body)))
	})
}

// FuzzHandler posts arbitrary bodies, with a genuine or an arbitrary
// signature, through the whole handler. Only the listed statuses may come
// back, and nothing is submitted unless the signature was genuine.
func FuzzHandler(f *testing.F) {
	const limit = 4096
	rec := &recorder{}
	src := ittybitSource()
	s, err := New(Options{BodyLimit: limit, Logger: discardLogger()}, []Source{src}, rec)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		// Header values travel on the wire: keep them printable.
		sig = strings.Map(func(r rune) rune {
			if r < 0x21 || r > 0x7e {
				return -1
			}
			return r
		}, sig)
		headers := map[string]string{"Ittybit-Signature": sig}
		if sign {
			headers = signed(t, src, body)
		}
		genuine := strings.EqualFold(headers["Ittybit-Signature"], hexMAC(sha256.New, secretA, string(body)))
		before := rec.count()

		req := httptest.NewRequest(http.MethodPost, src.Path, bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := s.App().Test(req, -1)
		code := 0
		switch {
		case errors.Is(err, fasthttp.ErrBodyTooLarge) && len(body) > limit:
			code = http.StatusRequestEntityTooLarge // app.Test reports the 413 as an error
		case err != nil:
			t.Fatalf("Test: %v", err)
		default:
			code = resp.StatusCode
			resp.Body.Close()
		}
		switch code {
		case 200, 400, 401, 413, 429:
		default:
			t.Fatalf("status %d", code)
		}
		submitted := rec.count() - before
		if submitted > 0 && !genuine {
			t.Fatalf("submitted a request whose signature was not genuine (status %d)", code)
		}
		if code == 200 && submitted != 1 {
			t.Fatalf("200 with %d submits", submitted)
		}
		if !genuine && code != 401 && code != 413 {
			t.Fatalf("forged signature got %d, want 401", code)
		}
	})
}
