package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck_NATSReplicasWarn: switchboard check warns when the NATS
// queue's streams would have fewer than three replicas, and not when they
// have three.
func TestCheck_NATSReplicasWarn(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ok.js"), []byte("export default function () {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		replicas int
		warn     bool
	}{{1, true}, {3, false}} {
		cfg := "[queue]\nbackend = \"nats\"\n[nats]\nurls = [\"nats://127.0.0.1:4222\"]\nreplicas = " +
			string(rune('0'+tc.replicas)) + "\n[[listeners]]\nname = \"a\"\nscript = \"ok.js\"\non = [\"e\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runMain(t, "check", "-c", filepath.Join(dir, "config.toml"))
		if code != 0 {
			t.Fatalf("replicas %d: exit %d\n%s%s", tc.replicas, code, out, errOut)
		}
		if got := strings.Contains(out, "warning: nats:") && strings.Contains(out, "sync_interval: always"); got != tc.warn {
			t.Fatalf("replicas %d: warning printed = %v, want %v\n%s", tc.replicas, got, tc.warn, out)
		}
	}
}
