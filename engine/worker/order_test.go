package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// With order_by, a key's jobs run one at a time in arrival order, a
// failing job holds back the later ones of its key until it succeeds, and
// other keys run beside it.
func TestPool_OrderBy(t *testing.T) {
	var mu sync.Mutex
	var seen []string // "key:n" in start order
	running := map[string]int{}
	overlap := ""
	failed := map[string]bool{}
	l := listener("ordered", 5, time.Second, 20*time.Millisecond)
	l.OrderBy = "data.id"
	h := newHarness(t, 4, func(ctx context.Context, _ *engine.Listener, inv *engine.Invocation) error {
		var p struct {
			Data struct {
				ID string `json:"id"`
				N  int    `json:"n"`
			} `json:"data"`
		}
		if err := json.Unmarshal(inv.Event.Payload, &p); err != nil {
			return err
		}
		key := p.Data.ID
		mu.Lock()
		running[key]++
		if running[key] > 1 {
			overlap = key
		}
		seen = append(seen, fmt.Sprintf("%s:%d", key, p.Data.N))
		fail := key == "a" && p.Data.N == 0 && !failed[key]
		failed[key] = failed[key] || fail
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		running[key]--
		mu.Unlock()
		if fail {
			return errors.New("first try of a:0 fails")
		}
		return nil
	}, l)
	router := engine.NewRouter(h.q, h.gen)
	var events []string
	for n := range 5 {
		for _, key := range []string{"a", "b"} {
			raw := fmt.Sprintf(`{"data":{"id":%q,"n":%d}}`, key, n)
			var payload any
			_ = json.Unmarshal([]byte(raw), &payload)
			id, err := router.Submit(context.Background(), &engine.Event{Name: "test", Source: "t", Payload: []byte(raw)}, payload)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, id)
		}
	}
	for _, ev := range events {
		h.wait(t, ev, "ordered", state(engine.JobDone))
	}
	mu.Lock()
	defer mu.Unlock()
	if overlap != "" {
		t.Fatalf("two jobs of key %s ran at once", overlap)
	}
	for _, key := range []string{"a", "b"} {
		var order []string
		for _, s := range seen {
			if s[:1] == key {
				order = append(order, s)
			}
		}
		want := []string{key + ":0", key + ":1", key + ":2", key + ":3", key + ":4"}
		if key == "a" {
			want = append([]string{"a:0"}, want...) // its failed first try, then the retry
		}
		if fmt.Sprint(order) != fmt.Sprint(want) {
			t.Errorf("key %s ran %v, want %v", key, order, want)
		}
	}
	// b did not wait for a's retry: some b job started before a:0's retry.
	firstRetry, bBefore := -1, false
	count := 0
	for i, s := range seen {
		if s == "a:0" {
			count++
			if count == 2 {
				firstRetry = i
			}
		}
		if s[:1] == "b" && firstRetry < 0 && count == 1 {
			bBefore = true
		}
	}
	if !bBefore {
		t.Errorf("key b was held back by key a's failing job: %v", seen)
	}
}
