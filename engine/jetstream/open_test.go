package jetstream

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/jetstream/natstest"
)

// TestOpen_WarnsOneReplica: streams on one server carry the durability
// warning (three replicas do not: TestFault_ClusterLeaderLoss).
func TestOpen_WarnsOneReplica(t *testing.T) {
	t.Parallel()
	srv := natstest.Run(t, natstest.Options{})
	q := openTest(t, Options{URLs: []string{srv.URL()}})
	w := q.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "1 replica") || !strings.Contains(w[0], "sync_interval: always") {
		t.Fatalf("Warnings() = %q, want the one-replica warning", w)
	}
}

// TestOpen_BadOptions: bad options are refused before connecting, naming
// what is wrong.
func TestOpen_BadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "set at least one server url"},
		{Options{URLs: []string{"nats://127.0.0.1:1"}, Prefix: "a.b"}, `nats prefix "a.b"`},
		{Options{URLs: []string{"nats://127.0.0.1:1"}, Replicas: 9}, "replicas 9"},
		{Options{URLs: []string{"nats://127.0.0.1:1"}, Token: "t", User: "u"}, "set one of creds, token"},
		{Options{URLs: []string{"nats://127.0.0.1:1"}, TLSCert: "c.pem"}, "cert and key together"},
	} {
		_, err := Open(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}

// TestOpen_ServerDown: with no server, Open fails within its timeout with
// ErrUnavailable instead of waiting.
func TestOpen_ServerDown(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, err := Open(context.Background(), Options{URLs: []string{"nats://127.0.0.1:1"}, Timeout: time.Second, Logger: quietLogger()})
	if !isUnavailable(err) || time.Since(start) > 5*time.Second {
		t.Fatalf("Open with no server = %v after %s, want ErrUnavailable within the timeout", err, time.Since(start))
	}
}

// TestOpen_ReplicasOnSingleServer: three replicas on a server that is not
// clustered fail with an error that says what to set.
func TestOpen_ReplicasOnSingleServer(t *testing.T) {
	t.Parallel()
	srv := natstest.Run(t, natstest.Options{})
	_, err := Open(context.Background(), Options{URLs: []string{srv.URL()}, Replicas: 3, Prefix: "r3", Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "replicas = 1") {
		t.Fatalf("Open with 3 replicas on one server = %v, want the hint to set replicas = 1", err)
	}
}

// TestOpen_ConcurrentStart: processes starting at once against a fresh
// server race to create the same streams and buckets; every one starts,
// and they share one queue.
// It runs on an in-process server and, when SWITCHBOARD_TEST_NATS_URL is
// set, on that one too (2.9 raced its store directories).
func TestOpen_ConcurrentStart(t *testing.T) {
	t.Parallel()
	servers := map[string]string{"in-process": natstest.Run(t, natstest.Options{}).URL()}
	if url := os.Getenv("SWITCHBOARD_TEST_NATS_URL"); url != "" {
		servers["system"] = url
	}
	for name, url := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			concurrentStart(t, url)
		})
	}
}

func concurrentStart(t *testing.T, url string) {
	o := Options{URLs: []string{url}, Prefix: fmt.Sprintf("%s_race", runID), Logger: quietLogger()}
	t.Cleanup(func() { deleteStreams(url, o.Prefix) }) // after the queues' Close
	const n = 6
	qs := make([]*Queue, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qs[i], errs[i] = Open(t.Context(), o)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d of %d starting at once: %v", i, n, err)
		}
		t.Cleanup(func() { _ = qs[i].Close(context.Background()) })
	}
	ev := &engine.Event{Name: "media.processed", Source: "ittybit", DeliveryID: "d1", ReceivedAt: time.Now(), Payload: []byte(`{}`)}
	if _, err := qs[0].Enqueue(t.Context(), ev, []engine.NewJob{{Listener: "a", MaxTries: 3}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "every process seeing the job", func() bool {
		for _, q := range qs {
			st, err := q.Stats(t.Context())
			if err != nil || st.States[engine.JobPending] != 1 {
				return false
			}
		}
		return true
	})
}
