package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rejections are logged at most rejectRate per second (bursts of
// rejectBurst), so a flood of bad requests cannot flood the log; the next
// line logged says how many were left out.
const (
	rejectRate  = 10
	rejectBurst = 20
)

// rejectLog logs refused requests, rate-limited.
type rejectLog struct {
	logger     *slog.Logger
	limiter    *rate.Limiter
	mu         sync.Mutex
	suppressed int
}

func newRejectLog(logger *slog.Logger) *rejectLog {
	return &rejectLog{logger: logger, limiter: rate.NewLimiter(rejectRate, rejectBurst)}
}

// log records one refusal: 401 and 5xx at warn (a forged signature, a
// store that cannot write), the rest at info. err's text never holds a
// secret or an expected signature (verifiers promise it).
func (r *rejectLog) log(source, remote string, status int, err error) {
	if !r.limiter.AllowN(time.Now(), 1) {
		r.mu.Lock()
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	left := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	level := slog.LevelInfo
	if status == 401 || status >= 500 {
		level = slog.LevelWarn
	}
	args := []any{"source", source, "remote", remote, "status", status, "err", err}
	if left > 0 {
		args = append(args, "not_logged_since_last", left)
	}
	r.logger.Log(context.Background(), level, "webhook rejected", args...)
}
