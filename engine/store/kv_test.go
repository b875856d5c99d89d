package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/store"
)

func TestQueue_KV(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now})
	val := []byte("hello")
	if err := q.KVSet(ctx, "a", "k", val, 0); err != nil {
		t.Fatal(err)
	}
	val[0] = 'J' // the store must have copied
	if err := q.KVSet(ctx, "a", "ttl", []byte("soon"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := q.KVSet(ctx, "b", "k", []byte("other ns"), 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		advance time.Duration
		ns, key string
		want    string
		found   bool
	}{
		{"stored", 0, "a", "k", "hello", true},
		{"namespaces are separate", 0, "b", "k", "other ns", true},
		{"missing key", 0, "a", "nope", "", false},
		{"missing namespace", 0, "zz", "k", "", false},
		{"ttl not yet expired", 59 * time.Second, "a", "ttl", "soon", true},
		{"ttl expired", time.Second, "a", "ttl", "", false},
		{"no ttl survives", time.Hour, "a", "k", "hello", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			got, ok, err := q.KVGet(ctx, tt.ns, tt.key)
			if err != nil || ok != tt.found || string(got) != tt.want {
				t.Fatalf("KVGet = %q, %v, %v; want %q, %v", got, ok, err, tt.want, tt.found)
			}
		})
	}
	// Overwriting a ttl'd key with no ttl makes it permanent.
	if err := q.KVSet(ctx, "a", "ttl", []byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := q.KVGet(ctx, "a", "ttl"); !ok || string(got) != "kept" {
		t.Fatalf("overwritten key = %q, %v", got, ok)
	}
	for _, key := range []string{"k", "k", "never-set"} {
		if err := q.KVDelete(ctx, "a", key); err != nil {
			t.Fatalf("KVDelete(%s): %v", key, err)
		}
	}
	if _, ok, _ := q.KVGet(ctx, "a", "k"); ok {
		t.Fatal("deleted key still present")
	}
	if err := q.KVSet(ctx, "a", strings.Repeat("k", 2000), nil, 0); err == nil {
		t.Fatal("oversized key accepted")
	}
	if err := q.KVSet(ctx, "", "k", nil, 0); err == nil {
		t.Fatal("empty namespace accepted")
	}
}
