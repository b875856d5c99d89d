package config

import (
	"strings"
	"testing"
)

// TestParse_NATS: a [nats] table configures the JetStream queue; the
// defaults are three replicas and the "switchboard" prefix.
func TestParse_NATS(t *testing.T) {
	body := "[queue]\nbackend = \"nats\"\n[nats]\nurls = [\"nats://n1:4222\", \"nats://n2:4222\"]\ntoken = \"${TOK}\"\ntls = { ca = \"ca.pem\" }\n" + minimal
	c, err := parse(t, body, map[string]string{"SECRET": "x", "TOK": "t0k"})
	if err != nil {
		t.Fatal(err)
	}
	n := c.NATS
	if len(n.URLs) != 2 || n.Replicas != 3 || n.Prefix != "switchboard" || n.Token.Reveal() != "t0k" || n.TLS.CA != "ca.pem" || n.Timeout.D() <= 0 {
		t.Fatalf("nats config = %+v", n)
	}
}

// TestParse_NATSErrors: each bad [nats] value is reported under its key.
func TestParse_NATSErrors(t *testing.T) {
	nats := func(table string) string {
		return "[queue]\nbackend = \"nats\"\n[nats]\n" + table + "\n" + minimal
	}
	tests := []struct {
		name, body, want string
	}{
		{"no urls", nats(""), "nats.urls: list at least one server"},
		{"bad url", nats(`urls = ["n1:4222"]`), `nats.urls: [0] "n1:4222"`},
		{"bad scheme", nats(`urls = ["http://n1:4222"]`), `scheme "http" is not nats`},
		{"replicas", nats("urls = [\"nats://n1:4222\"]\nreplicas = 7"), "nats.replicas: 7 is out of range 1..5"},
		{"prefix", nats("urls = [\"nats://n1:4222\"]\nprefix = \"a.b\""), `nats.prefix: "a.b"`},
		{"two credentials", nats("urls = [\"nats://n1:4222\"]\ntoken = \"t\"\nuser = \"u\""), "nats.creds: set one of"},
		{"cert without key", nats("urls = [\"nats://n1:4222\"]\ntls = { cert = \"c.pem\" }"), "nats.tls: set cert and key together"},
		{"unknown backend", "[queue]\nbackend = \"kafka\"\n" + minimal, `queue.backend: "kafka" is not supported (bbolt, postgres, nats)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.body, map[string]string{"SECRET": "x"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestParse_NATSIgnoredForBbolt: [nats] is not validated while the queue
// is bbolt.
func TestParse_NATSIgnoredForBbolt(t *testing.T) {
	if _, err := parse(t, "[nats]\nreplicas = 9\n"+minimal, map[string]string{"SECRET": "x"}); err != nil {
		t.Fatalf("a [nats] table with queue.backend = bbolt: %v", err)
	}
}
