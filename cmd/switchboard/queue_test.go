package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A shared backend that cannot be reached makes Open fail with an error
// that says so; it does not panic on the way out (a backend's nil
// *Queue inside an engine.Queue is not nil).
func TestOpen_UnreachableBackendFails(t *testing.T) {
	for _, backend := range []struct{ name, lines string }{
		{"nats", fmt.Sprintf("backend = \"nats\"\n[nats]\nurls = [\"nats://127.0.0.1:%d\"]\nreplicas = 1\ntimeout = \"500ms\"", freePort(t))},
		{"postgres", fmt.Sprintf("backend = \"postgres\"\ndsn = \"postgres://nobody@127.0.0.1:%d/none?sslmode=disable&connect_timeout=1\"", freePort(t))},
	} {
		t.Run(backend.name, func(t *testing.T) {
			cfg := writeProcConfig(t, procConfig{Queue: backend.lines})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			app, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				app.Close(ctx)
				t.Fatalf("Open with no %s server reachable succeeded", backend.name)
			}
			t.Logf("Open: %v", err)
			if !strings.Contains(err.Error(), "127.0.0.1") {
				t.Fatalf("the error does not say which server could not be reached: %v", err)
			}
		})
	}
}
