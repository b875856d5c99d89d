package jetstream

import (
	"context"
	"strings"
	"testing"
	"time"

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
