package jetstream

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Options configures a Queue. URLs is required.
type Options struct {
	// URLs are the NATS servers to connect to (any members of one
	// cluster); the client fails over between them.
	URLs []string
	// Replicas is the replica count of every stream the queue creates:
	// 3 for a three-node cluster, 1 for a single server (see Durability).
	// 0 means 1.
	Replicas int
	// Prefix names the streams ("<prefix>_events", "<prefix>_state", …)
	// and subjects ("<prefix>.ev.…") the queue uses; processes with the
	// same prefix share one queue. Default "switchboard".
	Prefix string

	// Credentials: at most one of CredsFile, Token, User/Password.
	CredsFile string
	Token     string
	User      string
	Password  string
	// TLS: a CA file to verify the servers, and a client certificate and
	// key for mutual TLS. Any of them turns TLS on.
	TLSCA, TLSCert, TLSKey string

	// DedupeWindow is how long a delivery id is remembered (0 = no dedupe).
	DedupeWindow time.Duration
	// Retention is how long done jobs, and events with no jobs left, are
	// kept; 0 keeps them forever. Failed jobs stay until forgotten.
	Retention time.Duration
	// HistoryRetention bounds the console's per-minute history and the
	// audit log; 0 keeps them forever.
	HistoryRetention time.Duration
	// MaxDepth refuses Enqueue (ErrUnavailable) while pending+running
	// jobs number at least this many across the cluster; 0 = unbounded.
	MaxDepth int
	// CrashLimit is how many attempts a job may lose to a dying process
	// before it is failed for good; 0 means 3.
	CrashLimit int

	// Timeout bounds each request to the servers (a write waits this long
	// for JetStream's acknowledgement before Enqueue answers
	// ErrUnavailable). Default 5s.
	Timeout time.Duration
	// HeartbeatInterval is how often the process records that it is alive;
	// ProcessTimeout is how long after its last heartbeat a process counts
	// as dead (its running jobs are then taken back and charged as
	// crashes). Defaults 2s and 10s.
	HeartbeatInterval time.Duration
	ProcessTimeout    time.Duration
	// PruneInterval is how often the process holding the prune lock prunes
	// (default 1 minute; the suite calls Prune itself).
	PruneInterval time.Duration

	Logger *slog.Logger
}

// prefixRE is what a prefix may be: it becomes part of stream names and
// subject tokens.
var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.URLs) == 0 {
		return o, errors.New("nats: set at least one server url")
	}
	if o.Prefix == "" {
		o.Prefix = "switchboard"
	}
	if !prefixRE.MatchString(o.Prefix) {
		return o, fmt.Errorf("nats prefix %q: use 1-32 letters, digits, '_' or '-'", o.Prefix)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return o, fmt.Errorf("nats replicas %d: must be 1 to 5", o.Replicas)
	}
	n := 0
	for _, set := range []bool{o.CredsFile != "", o.Token != "", o.User != "" || o.Password != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return o, errors.New("nats credentials: set one of creds, token, or user and password")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return o, errors.New("nats tls: set cert and key together")
	}
	if o.CrashLimit <= 0 {
		o.CrashLimit = 3
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 2 * time.Second
	}
	if o.ProcessTimeout <= 0 {
		o.ProcessTimeout = 5 * o.HeartbeatInterval
	}
	if o.ProcessTimeout <= o.HeartbeatInterval {
		return o, fmt.Errorf("nats process timeout %s must exceed the heartbeat interval %s", o.ProcessTimeout, o.HeartbeatInterval)
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// names are the streams and subjects of one prefix.
type names struct {
	events, state, kv, hist, audit string // stream names
	p                              string // subject prefix
}

func namesFor(prefix string) names {
	return names{
		events: prefix + "_events", state: prefix + "_state", kv: prefix + "_kv",
		hist: prefix + "_history", audit: prefix + "_audit", p: prefix,
	}
}

// Subjects. Events and replays live in the events stream; every record
// that changes (jobs, pause, limits, processes, locks) in the state stream.
func (n names) evSubj(token string) string   { return n.p + ".ev." + token }
func (n names) rpSubj(token string) string   { return n.p + ".rp." + token }
func (n names) esyncSubj(proc string) string { return n.p + ".esync." + proc }
func (n names) jobSubj(id string) string     { return n.p + ".job." + id }
func (n names) pauseSubj(l string) string    { return n.p + ".st.pause." + hexName(l) }
func (n names) semSubj(l string) string      { return n.p + ".st.sem." + hexName(l) }
func (n names) rateSubj(l string) string     { return n.p + ".st.rate." + hexName(l) }
func (n names) lockSubj(name string) string  { return n.p + ".st.lock." + name }
func (n names) procSubj(id string) string    { return n.p + ".proc." + id }
func (n names) syncSubj(proc string) string  { return n.p + ".sync." + proc }
func (n names) histSubj(min int64) string    { return fmt.Sprintf("%s.hist.%d", n.p, min) }
func (n names) auditSubj() string            { return n.p + ".audit" }
