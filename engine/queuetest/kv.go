package queuetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

var kvTests = []test{
	{"SetGetDelete", testKVBasic},
	{"Namespaces", testKVNamespaces},
	{"ValuesCopied", testKVCopied},
	{"TTL", testKVTTL},
	{"BadNames", testKVBadNames},
	{"OddNames", testKVOddNames},
}

func kvGet(t *testing.T, q Queue, ns, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := q.KVGet(t.Context(), ns, key)
	if err != nil {
		t.Fatalf("KVGet(%q, %q): %v", ns, key, err)
	}
	return v, ok
}

func kvSet(t *testing.T, q Queue, ns, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := q.KVSet(t.Context(), ns, key, v, ttl); err != nil {
		t.Fatalf("KVSet(%q, %q): %v", ns, key, err)
	}
}

func wantKV(t *testing.T, q Queue, ns, key string, want []byte) {
	t.Helper()
	v, ok := kvGet(t, q, ns, key)
	switch {
	case want == nil && ok:
		t.Fatalf("KVGet(%q, %q) = %q, want absent", ns, key, v)
	case want != nil && (!ok || !bytes.Equal(v, want)):
		t.Fatalf("KVGet(%q, %q) = %q, %v; want %q", ns, key, v, ok, want)
	}
}

// testKVBasic: values are stored, overwritten and deleted; binary and
// empty values round-trip; deleting what is absent is not an error.
func testKVBasic(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	wantKV(t, q, "a", "k", nil)
	kvSet(t, q, "a", "k", []byte("v1"), 0)
	wantKV(t, q, "a", "k", []byte("v1"))
	kvSet(t, q, "a", "k", []byte("v2"), 0)
	wantKV(t, q, "a", "k", []byte("v2"))
	bin := []byte{0, 1, 0xff, 0xfe, '\n', 0}
	kvSet(t, q, "a", "bin", bin, 0)
	wantKV(t, q, "a", "bin", bin)
	kvSet(t, q, "a", "empty", []byte{}, 0)
	wantKV(t, q, "a", "empty", []byte{})
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	kvSet(t, q, "a", "big", big, 0)
	wantKV(t, q, "a", "big", big)
	if err := q.KVDelete(t.Context(), "a", "k"); err != nil {
		t.Fatalf("KVDelete: %v", err)
	}
	wantKV(t, q, "a", "k", nil)
	if err := q.KVDelete(t.Context(), "a", "k"); err != nil {
		t.Fatalf("KVDelete of an absent key: %v", err)
	}
	if err := q.KVDelete(t.Context(), "never-used", "k"); err != nil {
		t.Fatalf("KVDelete in an unused namespace: %v", err)
	}
	wantKV(t, q, "a", "bin", bin)
}

// testKVNamespaces: the same key in two namespaces is two values, and
// namespace/key pairs never alias however they are spelled.
func testKVNamespaces(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	pairs := [][2]string{{"a", "k"}, {"b", "k"}, {"a/b", "c"}, {"a", "b/c"}, {"a:b", "c"}, {"a", "b:c"}, {"ab", "c"}, {"a", "bc"}}
	for i, p := range pairs {
		kvSet(t, q, p[0], p[1], []byte(fmt.Sprint(i)), 0)
	}
	for i, p := range pairs {
		wantKV(t, q, p[0], p[1], []byte(fmt.Sprint(i)))
	}
	if err := q.KVDelete(t.Context(), "a", "k"); err != nil {
		t.Fatalf("KVDelete: %v", err)
	}
	wantKV(t, q, "a", "k", nil)
	wantKV(t, q, "b", "k", []byte("1"))
}

// testKVCopied: neither the slice given to KVSet nor the one KVGet
// returned is shared with the store.
func testKVCopied(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	v := []byte("original")
	kvSet(t, q, "a", "k", v, 0)
	copy(v, "CHANGED!")
	got, _ := kvGet(t, q, "a", "k")
	if string(got) != "original" {
		t.Fatalf("stored value changed with the caller's slice: %q", got)
	}
	copy(got, "CHANGED!")
	wantKV(t, q, "a", "k", []byte("original"))
}

// testKVTTL: a value with a ttl is there until it expires and then not;
// setting it again without a ttl keeps it.
func testKVTTL(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	const ttl = 400 * time.Millisecond
	set := time.Now()
	kvSet(t, q, "a", "short", []byte("v"), ttl)
	kvSet(t, q, "a", "renewed", []byte("v"), ttl)
	kvSet(t, q, "a", "renewed", []byte("w"), 0)
	if _, ok := kvGet(t, q, "a", "short"); !ok && time.Since(set) < ttl-clockTol/5 {
		t.Fatalf("a value with ttl %s was gone after %s", ttl, time.Since(set))
	}
	eventually(t, waitFor, "kv ttl expiry", func() error {
		if _, ok := kvGet(t, q, "a", "short"); ok {
			return errNotYet
		}
		return nil
	})
	if since := time.Since(set); since < ttl-clockTol/5 {
		t.Fatalf("a value with ttl %s expired after %s", ttl, since)
	}
	time.Sleep(time.Until(set.Add(2 * ttl))) // past the ttl the first set gave
	wantKV(t, q, "a", "renewed", []byte("w"))
}

// testKVBadNames: an empty namespace or key is refused.
func testKVBadNames(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	for _, p := range [][2]string{{"", "k"}, {"a", ""}, {"", ""}} {
		if err := q.KVSet(t.Context(), p[0], p[1], []byte("v"), 0); err == nil {
			t.Fatalf("KVSet(%q, %q) = nil, want an error naming the bad name", p[0], p[1])
		}
		if _, _, err := q.KVGet(t.Context(), p[0], p[1]); err == nil {
			t.Fatalf("KVGet(%q, %q) = nil error, want one", p[0], p[1])
		}
	}
}

// testKVOddNames: unusual names either round-trip or are refused with an
// error; never stored under another name or silently dropped.
func testKVOddNames(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	names := []string{"café ✓", "with space", "new\nline", "nul\x00byte", "%2F", "..", "*", "a.b.c", strings.Repeat("k", 5000)}
	stored := map[[2]string][]byte{}
	for i, n := range names {
		for j, p := range [][2]string{{"ns", n}, {n, "key"}} {
			v := []byte(fmt.Sprint(i, j))
			if err := q.KVSet(t.Context(), p[0], p[1], v, 0); err != nil {
				continue // refused: fine, as long as it says so
			}
			stored[p] = v
		}
	}
	for p, v := range stored {
		wantKV(t, q, p[0], p[1], v)
	}
	wantKV(t, q, "ns", "key", nil)
}
