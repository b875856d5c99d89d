package config

import (
	"strings"
	"testing"
	"time"
)

// TestQueue_Postgres: the postgres backend's keys, their defaults, and
// errors that name the key.
func TestQueue_Postgres(t *testing.T) {
	vars := map[string]string{"SECRET": "s"}
	c, err := parse(t, "[queue]\nbackend = \"postgres\"\ndsn = \"postgres://q@db/app\"\n"+minimal, vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.PostgresDSN() != "postgres://q@db/app" || c.Queue.Schema != "switchboard" || c.Queue.PollInterval.D() != time.Second {
		t.Fatalf("dsn %q schema %q poll %s; want the dsn, switchboard, 1s", c.PostgresDSN().Reveal(), c.Queue.Schema, c.Queue.PollInterval.D())
	}
	c, err = parse(t, "[queue]\nbackend = \"postgres\"\n[database]\ndriver = \"postgres\"\ndsn = \"postgres://app@db/app\"\n"+minimal, vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.PostgresDSN() != "postgres://app@db/app" {
		t.Fatalf("dsn %q, want database.dsn's", c.PostgresDSN().Reveal())
	}
	for body, key := range map[string]string{
		"[queue]\nbackend = \"postgres\"\n":                                       "queue.dsn: must be set",
		"[queue]\nbackend = \"postgres\"\ndsn = \"x\"\nschema = \"Bad-Schema\"\n": `queue.schema: "Bad-Schema"`,
		"[queue]\nbackend = \"postgres\"\ndsn = \"x\"\npoll_interval = \"0s\"\n":  "queue.poll_interval: must be positive",
		"[queue]\nbackend = \"sqlite\"\n":                                         `queue.backend: "sqlite" is not supported (bbolt, postgres, nats)`,
	} {
		_, err := parse(t, body+minimal, vars)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: err = %v, want one naming %s", body, err, key)
		}
	}
}
