package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// benchBody is a 1 KiB JSON object, the size NOTES.md measures with.
var benchBody = []byte(fmt.Sprintf(`{"id":"evt_1","object":"event","kind":"task.succeeded","pad":%q}`, strings.Repeat("x", 960)))

func benchVerify(b *testing.B, src Source) {
	v, err := NewVerifier(src)
	if err != nil {
		b.Fatal(err)
	}
	h, err := Sign(src, benchBody, testNow)
	if err != nil {
		b.Fatal(err)
	}
	mh := MapHeader(h)
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(mh, benchBody, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify_Ittybit(b *testing.B)          { benchVerify(b, source("ittybit")) }
func BenchmarkVerify_GitHub(b *testing.B)           { benchVerify(b, source("github")) }
func BenchmarkVerify_Shopify(b *testing.B)          { benchVerify(b, source("shopify")) }
func BenchmarkVerify_Stripe(b *testing.B)           { benchVerify(b, source("stripe")) }
func BenchmarkVerify_StandardWebhooks(b *testing.B) { benchVerify(b, source("standard-webhooks")) }

func BenchmarkVerify_HMAC(b *testing.B) {
	src := source("hmac")
	src.Header, src.Algorithm, src.Encoding = "X-Sig", "sha512", "base64"
	benchVerify(b, src)
}

// BenchmarkHandler measures the whole request path (verify, parse, copy,
// submit to a recorder that stores nothing) over real keep-alive
// connections, one per parallel goroutine.
func BenchmarkHandler(b *testing.B) {
	src := ittybitSource()
	s := newTestServer(b, Options{}, nullSubmitter{}, src)
	url := startServer(b, s) + src.Path
	h, err := Sign(src, benchBody, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, raw, err := httpPost(b, client, url, h, benchBody)
			if err != nil || code != 200 {
				b.Errorf("%d %s %v", code, raw, err)
				return
			}
		}
	})
}
