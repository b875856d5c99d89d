package engine

import (
	"context"
	"time"
)

// This file is the queue's contract: the interfaces each consumer (the
// router, the workers, the kv binding, the admin console) declares for the
// part of the queue it uses, and Queue, everything one backend provides.
// engine/queuetest holds the conformance suite every backend passes.

// Enqueuer persists events. The Router (ingest, emit, replay) consumes it.
type Enqueuer interface {
	// Enqueue writes ev and one pending job per NewJob in one durable
	// transaction, assigns ev.ID, and returns it only once everything is
	// durable (fsync, or a quorum's acknowledgement). If ev.DeliveryID was
	// stored for ev.Source within the dedupe window it writes nothing and
	// returns the earlier event's id with an error wrapping ErrDuplicate.
	// An error wrapping ErrUnavailable means nothing was stored and the
	// sender should retry later (503), for example when pending and
	// running jobs number max_depth or more. ev.ReceivedAt is set by the
	// caller (Router.Submit). ev and jobs are not retained.
	Enqueue(ctx context.Context, ev *Event, jobs []NewJob) (string, error)
}

// Replayer adds jobs to an event already stored. Router.Replay consumes it.
type Replayer interface {
	// GetEvent returns an event and its jobs in creation order, or an
	// error wrapping ErrNotFound.
	GetEvent(ctx context.Context, id string) (*Event, []Job, error)
	// AddJobs durably creates one pending job per NewJob for the stored
	// event and returns their ids (max_depth does not apply: an operator
	// asked for it). An unknown event wraps ErrNotFound.
	AddJobs(ctx context.Context, eventID string, jobs []NewJob) ([]string, error)
}

// Lease is a job claimed by a worker, with its event.
type Lease struct {
	Job   Job
	Event *Event
}

// Quota bounds what one Lease call may claim for one listener.
type Quota struct {
	// Max is how many jobs of this listener the caller can take now (its
	// free workers): a per-call bound.
	Max int
	// LeaseFor is how long a claim holds before it is taken back.
	LeaseFor time.Duration
	// Concurrency, if > 0, bounds the listener's running jobs across every
	// process sharing the queue: a job is claimed only while fewer than
	// Concurrency jobs of the listener are running.
	Concurrency int
	// Rate, if set, bounds the leases of the listener across every process
	// with a token bucket: bursts of at most Rate.N claims, and on average
	// no more than Rate.N per Rate.Per.
	Rate Rate
}

// Leaser hands due jobs to workers. The worker pool consumes it.
//
// A job is claimable when it is pending, its RunAt has passed, its
// listener is not paused, the quota's Concurrency and Rate allow it, and,
// for a job with an OrderKey, no older job (lower id) of the same listener
// and key is pending or running.
type Leaser interface {
	// Lease claims up to max claimable jobs, oldest RunAt first, at most
	// quota[l].Max of listener l; listeners absent from quota are left
	// alone. Each claimed job becomes running with Attempt incremented and
	// LeaseUntil = now + LeaseFor. Before claiming, it takes back jobs
	// whose lease has ended (see the Queue doc for how they are charged).
	Lease(ctx context.Context, max int, quota map[string]Quota) ([]Lease, error)
	// Start records that a leased job's attempt has begun and clears
	// Job.Suspect; until then a crash or an expired lease gives the job
	// its attempt back (it was leased ahead and never ran). It returns an
	// error wrapping ErrLeaseLost if the job is no longer running under
	// attempt. Because an unstarted attempt given back is reused by the
	// next claim, a caller must not Start (or Finish) a claim whose
	// LeaseUntil has passed: the attempt number may be someone else's.
	Start(ctx context.Context, jobID string, attempt int) error
	// Finish records an attempt's result (see Outcome for what each does)
	// and appends it to the job's Attempts unless the outcome is Returned.
	// It returns an error wrapping ErrLeaseLost if the job is no longer
	// running under res.Attempt, and one wrapping ErrNotFound if no such
	// job exists.
	Finish(ctx context.Context, res Result) error
	// Ready receives a value (coalesced) whenever jobs may have become
	// claimable (added, rescheduled, resumed, released by an ordering
	// key), in this process or, for shared backends, in any process.
	Ready() <-chan struct{}
	// NextDue returns the earliest time a pending job becomes due, as far
	// as this process knows; zero if none or unknown. The worker pool
	// sleeps until then unless Ready fires first, and polls at least once
	// a second regardless.
	NextDue() time.Time
}

// JobQuery selects jobs for listing. Zero fields do not filter.
type JobQuery struct {
	State    JobState
	Listener string
	EventID  string
	// ErrorContains keeps jobs whose LastError message contains it
	// (case-insensitive).
	ErrorContains string
	// Newest lists newest first (descending ids); the default is oldest
	// first.
	Newest bool
	Limit  int    // default 50, at most 1000
	After  string // continue after this id, in the order listed
}

// JobFilter selects failed jobs for bulk retry and flush. Zero fields do
// not filter.
type JobFilter struct {
	Listener      string
	ErrorContains string // case-insensitive, in LastError's message
}

// EventQuery selects events for listing and search. Zero fields do not
// filter.
type EventQuery struct {
	Source     string
	DeliveryID string
	// Field and Value search the payload: the value at dot path Field
	// (see Lookup) must be a scalar whose text equals Value (strings
	// compare as is, numbers and booleans by their JSON text).
	Field, Value string
	Newest       bool   // newest first; the default is oldest first
	Limit        int    // default 50, at most 1000
	After        string // continue after this id, in the order listed
	// Scan bounds how many events one call examines when a filter is set
	// (0 = the backend's default, at least 10 000): a search over a large
	// history answers in bounded time with a cursor to continue from.
	Scan int
}

// EventPage is one page of events. Next is the cursor (an event id) to
// pass as After for the following page; empty when there is no more.
// A page may hold fewer than Limit events (even none) and still have a
// Next, when the scan bound was reached.
type EventPage struct {
	Events []Event `json:"events"`
	Next   string  `json:"next,omitempty"`
}

// Stats describes the queue at one moment, across every process sharing it.
type Stats struct {
	States    map[JobState]int            `json:"states"`
	Listeners map[string]map[JobState]int `json:"listeners"`
	Events    int                         `json:"events"`
	OldestDue time.Time                   `json:"oldestDue,omitzero"` // oldest pending job that is due
	// OldestDueBy is OldestDue per listener (listeners with a due job).
	OldestDueBy map[string]time.Time `json:"oldestDueBy,omitempty"`
	// Paused lists paused listeners and since when.
	Paused map[string]time.Time `json:"paused,omitempty"`
	// Enqueued, Finished and FailedTotal count what this process did since
	// it started.
	Enqueued    uint64 `json:"enqueued"`
	Finished    uint64 `json:"finished"`
	FailedTotal uint64 `json:"failedTotal"`
	// FileBytes is the size of the backend's storage where it knows it
	// (the bbolt file); 0 otherwise.
	FileBytes int64 `json:"fileBytes"`
}

// KV is durable per-namespace key/value storage (namespace = listener),
// shared by every process using the queue.
type KV interface {
	// KVGet returns the value and true, or false if absent or expired.
	KVGet(ctx context.Context, ns, key string) ([]byte, bool, error)
	// KVSet stores value; ttl 0 keeps it until deleted.
	KVSet(ctx context.Context, ns, key string, value []byte, ttl time.Duration) error
	// KVDelete removes key; absent keys are not an error.
	KVDelete(ctx context.Context, ns, key string) error
}

// Process is one switchboard process using the queue.
type Process struct {
	ID      string    `json:"id"`   // unique per process start
	Host    string    `json:"host"` // hostname
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Seen    time.Time `json:"seen"` // last heartbeat
}

// AuditEntry records one operator action.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"` // retry, forget, retry-failed, flush, replay, pause, resume
	Target string    `json:"target"` // a job, event or listener, or the filter of a bulk action
	Count  int       `json:"count"`  // how many jobs it changed or created
	Actor  string    `json:"actor"`  // where it came from: remote address, "cli", user agent
	Detail string    `json:"detail,omitempty"`
}

// Queue is everything a queue backend provides: the embedded bbolt store
// (engine/store), PostgreSQL (engine/postgres), NATS JetStream
// (engine/jetstream). engine/queuetest proves each one keeps the contract.
//
// Charging lost attempts: a job whose lease ended (or whose process died)
// before Finish is taken back. If its attempt had not started (see
// Leaser.Start) the attempt is given back and nothing is charged. If it
// had, the attempt counts and Crashes grows by one when the process that
// held it is known to have died (restart, missing heartbeat), with
// LastError kind KindCrash; otherwise (a live process that overran its
// lease) LastError kind is KindLease. An unstarted job taken back from a
// process that died becomes Suspect (see Job.Suspect), with no LastError.
// A job is failed once Attempt reaches MaxTries, or once Crashes reaches
// the crash limit.
type Queue interface {
	Enqueuer
	Replayer
	Leaser
	KV

	// ListEvents returns one page of the events q selects.
	ListEvents(ctx context.Context, q EventQuery) (EventPage, error)
	// ListJobs returns the jobs q selects.
	ListJobs(ctx context.Context, q JobQuery) ([]Job, error)
	// GetJob returns one job, or an error wrapping ErrNotFound.
	GetJob(ctx context.Context, id string) (*Job, error)
	// RetryJob makes a failed job pending again, due now, with fresh tries
	// (Attempt 0, Crashes 0; Attempts and LastError are kept). A job that
	// has not failed wraps ErrConflict; an unknown one ErrNotFound.
	RetryJob(ctx context.Context, id string) error
	// ForgetJob deletes a failed job; errors as RetryJob.
	ForgetJob(ctx context.Context, id string) error
	// RetryFailed does RetryJob for every failed job f selects and returns
	// how many.
	RetryFailed(ctx context.Context, f JobFilter) (int, error)
	// FlushFailed deletes every failed job f selects and returns how many.
	FlushFailed(ctx context.Context, f JobFilter) (int, error)
	// Stats describes the queue now. It must stay fast (milliseconds) with
	// millions of jobs stored: counters, not scans.
	Stats(ctx context.Context) (Stats, error)
	// Ping returns nil if the queue can take writes now.
	Ping(ctx context.Context) error

	// SetPaused pauses or resumes a listener for every process: while
	// paused, its jobs are stored as usual but none is claimed. Pausing is
	// stored durably and survives restarts. Pausing a paused listener (or
	// resuming a running one) changes nothing.
	SetPaused(ctx context.Context, listener string, paused bool) error

	// AddSamples merges per-minute activity into the stored history:
	// samples of the same (Minute, Series) add up, whichever process sent
	// them. History older than the history retention is pruned.
	AddSamples(ctx context.Context, samples []Sample) error
	// Samples returns the merged samples with from <= Minute < to, ordered
	// by Minute then Series.
	Samples(ctx context.Context, from, to time.Time) ([]Sample, error)

	// Audit durably appends an operator action (pruned with the history).
	Audit(ctx context.Context, e AuditEntry) error
	// ListAudit returns up to limit entries, newest first, older than
	// before (zero: from the newest).
	ListAudit(ctx context.Context, limit int, before time.Time) ([]AuditEntry, error)

	// Processes lists the processes using the queue that are alive (a
	// heartbeat within the backend's stated window), this one included.
	Processes(ctx context.Context) ([]Process, error)

	// Close stops the backend's background work and releases it. It is
	// idempotent and safe when nothing else was called.
	Close(ctx context.Context) error
}

// Page sizes of the listing calls (JobQuery, EventQuery, ListAudit).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageSize is n bounded to (0, MaxPageSize], DefaultPageSize for n <= 0.
func PageSize(n int) int {
	if n <= 0 {
		return DefaultPageSize
	}
	return min(n, MaxPageSize)
}
