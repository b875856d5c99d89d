package jetstream

import (
	"io"
	"log/slog"
	"os"
)

// quietLogger discards the queue's logs unless SWITCHBOARD_TEST_LOG is set.
func quietLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
