package engine

import (
	"context"
	"time"
)

// Enqueuer persists events. The ingest handler and emit() consume it.
type Enqueuer interface {
	// Enqueue writes ev and one pending job per NewJob in one durable
	// transaction, assigns ev.ID, and returns it only once everything is
	// on disk (fsync). If ev.DeliveryID was stored within the dedupe
	// window it writes nothing and returns the earlier event's id with
	// ErrDuplicate. An error wrapping ErrUnavailable means nothing was
	// stored and the sender should retry later (503).
	Enqueue(ctx context.Context, ev *Event, jobs []NewJob) (string, error)
}

// Lease is a job claimed by a worker, with its event.
type Lease struct {
	Job   Job
	Event *Event
}

// Quota bounds what one Lease call may claim for one listener.
type Quota struct {
	Max      int           // jobs of this listener to claim at most
	LeaseFor time.Duration // how long the claim holds before it is taken back
}

// Outcome is how an attempt ended.
type Outcome int

// The outcomes a worker reports.
const (
	Succeeded Outcome = iota // job done
	Retry                    // attempt failed; run again at RunAt
	Snoozed                  // not an attempt; run again at RunAt
	Failed                   // failed for good (tries spent or cancelled)
)

// Result reports an attempt's end to the queue.
type Result struct {
	JobID   string
	Attempt int // fences the ack: must equal the job's current attempt
	Outcome Outcome
	RunAt   time.Time // for Retry and Snoozed
	Err     *JobError // for Retry and Failed
}

// Leaser hands due jobs to workers. The worker pool consumes it.
type Leaser interface {
	// Lease claims up to max due pending jobs, at most quota[l].Max of
	// listener l; listeners absent from quota are left alone. Each claimed
	// job becomes running, its Attempt incremented, until its lease ends.
	Lease(ctx context.Context, max int, quota map[string]Quota) ([]Lease, error)
	// Start records that a leased job's attempt has begun; until then a
	// crash or an expired lease gives the job its attempt back (it was
	// leased ahead and never ran). It returns ErrLeaseLost if the job is
	// no longer running under attempt.
	Start(ctx context.Context, jobID string, attempt int) error
	// Finish records an attempt's result. It returns ErrLeaseLost if the
	// job is no longer running under res.Attempt.
	Finish(ctx context.Context, res Result) error
	// Ready receives a value (coalesced) whenever jobs were added or
	// rescheduled, so idle workers need not poll.
	Ready() <-chan struct{}
	// NextDue returns the earliest RunAt of a pending job, zero if none.
	NextDue() time.Time
}

// JobQuery selects jobs for listing. Zero fields do not filter.
type JobQuery struct {
	State    JobState
	Listener string
	EventID  string
	Limit    int    // default 50
	After    string // id to continue after (ids sort by creation)
}

// Stats describes the queue at one moment.
type Stats struct {
	States      map[JobState]int            `json:"states"`
	Listeners   map[string]map[JobState]int `json:"listeners"`
	Events      int                         `json:"events"`
	OldestDue   time.Time                   `json:"oldestDue,omitzero"` // oldest pending job that is due
	Enqueued    uint64                      `json:"enqueued"`           // events since start
	Finished    uint64                      `json:"finished"`           // jobs done since start
	FailedTotal uint64                      `json:"failedTotal"`        // jobs failed since start
	FileBytes   int64                       `json:"fileBytes"`
}

// KV is durable per-namespace key/value storage (namespace = listener).
type KV interface {
	// KVGet returns the value and true, or false if absent or expired.
	KVGet(ctx context.Context, ns, key string) ([]byte, bool, error)
	// KVSet stores value; ttl 0 keeps it until deleted.
	KVSet(ctx context.Context, ns, key string, value []byte, ttl time.Duration) error
	// KVDelete removes key; absent keys are not an error.
	KVDelete(ctx context.Context, ns, key string) error
}
