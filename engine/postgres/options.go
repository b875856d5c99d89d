package postgres

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Options configures a Queue. DSN is required; every other field has a
// default.
type Options struct {
	// DSN is a PostgreSQL connection string (URL or key=value), as pgx
	// reads it: pool_max_conns and default_query_exec_mode are honoured.
	DSN string
	// Schema holds the queue's tables; created if missing. Default
	// "switchboard".
	Schema string
	// PollInterval is how often idle workers look for jobs when
	// LISTEN/NOTIFY does not reach this process (the connection is down,
	// or a pooler in transaction mode swallows notifications). Default 1s.
	PollInterval time.Duration
	// DedupeWindow: delivery ids are remembered this long (0 = no dedupe).
	DedupeWindow time.Duration
	// Retention: done jobs, and events with no jobs left, are kept this
	// long (0 = forever). Failed jobs stay until forgotten.
	Retention time.Duration
	// HistoryRetention: per-minute samples and audit entries are kept
	// this long; 0 means 7 days, as in the embedded store.
	HistoryRetention time.Duration
	// MaxDepth refuses Enqueue (ErrUnavailable) while pending and running
	// jobs number at least this many; 0 = unbounded.
	MaxDepth int
	// CrashLimit is how many crashes a job survives before it is failed;
	// 0 means 3.
	CrashLimit int
	// HeartbeatInterval is how often this process records that it is
	// alive. Default 2s.
	HeartbeatInterval time.Duration
	// HeartbeatWindow is how long a process is taken for alive after its
	// last heartbeat when nothing else says it died. Default 10s; at
	// least twice HeartbeatInterval.
	HeartbeatWindow time.Duration
	// Timeout bounds one call's work against the database, retries
	// included. Default 5s.
	Timeout time.Duration
	// PruneInterval is how often the background pruner runs (in one
	// process at a time). Default min(Retention/10, 1m), at least 1s.
	PruneInterval time.Duration
	Logger        *slog.Logger
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// withDefaults validates o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.DSN == "" {
		return o, errors.New("postgres queue: no dsn")
	}
	if o.Schema == "" {
		o.Schema = "switchboard"
	}
	if !schemaName.MatchString(o.Schema) {
		return o, fmt.Errorf("postgres queue: schema %q must be lowercase letters, digits and _ (at most 48), not starting with a digit", o.Schema)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.CrashLimit <= 0 {
		o.CrashLimit = 3
	}
	if o.HistoryRetention == 0 {
		o.HistoryRetention = 7 * 24 * time.Hour
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 2 * time.Second
	}
	if o.HeartbeatWindow <= 0 {
		o.HeartbeatWindow = 10 * time.Second
	}
	if o.HeartbeatWindow < 2*o.HeartbeatInterval {
		return o, fmt.Errorf("postgres queue: heartbeat window %s must be at least twice the heartbeat interval %s", o.HeartbeatWindow, o.HeartbeatInterval)
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = time.Minute
		if r := o.Retention / 10; r > 0 && r < o.PruneInterval {
			o.PruneInterval = max(r, time.Second)
		}
	}
	if o.MaxDepth < 0 || o.DedupeWindow < 0 || o.Retention < 0 || o.HistoryRetention < 0 {
		return o, errors.New("postgres queue: max depth, dedupe window and retentions must not be negative")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
