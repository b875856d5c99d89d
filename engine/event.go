package engine

import (
	"encoding/json"
	"time"
)

// Event is one verified webhook delivery (or an event a listener emitted).
// Payload holds the raw JSON bytes exactly as received.
type Event struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Source     string            `json:"source"`
	DeliveryID string            `json:"deliveryId,omitempty"`
	ReceivedAt time.Time         `json:"receivedAt"`
	Headers    map[string]string `json:"headers,omitempty"`
	Payload    json.RawMessage   `json:"payload"`
	// Parent is the id of the event whose listener emitted this one.
	Parent string `json:"parent,omitempty"`
}

// JobState is where a job is in its life.
type JobState string

// The states a job moves through: pending → running → done, or back to
// pending for a retry, or failed once its tries are spent.
const (
	JobPending JobState = "pending"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// Job is one listener's work on one event.
type Job struct {
	ID       string   `json:"id"`
	EventID  string   `json:"eventId"`
	Listener string   `json:"listener"`
	State    JobState `json:"state"`
	// Attempt counts the attempts started so far; the running attempt's
	// number while State is running. Acks are fenced by it.
	Attempt  int `json:"attempt"`
	MaxTries int `json:"maxTries"`
	// Crashes counts attempts that ended with the process dying.
	Crashes int `json:"crashes,omitempty"`
	// Suspect is set when the job was taken back from a process that died
	// holding it before its attempt was known to have started: that
	// attempt may have run and killed the process. The next start of the
	// job is made durable before its script runs (Leaser.Start is waited
	// for), so a job that keeps killing its process is charged and parked
	// by the crash limit. Start clears it.
	Suspect    bool      `json:"suspect,omitempty"`
	RunAt      time.Time `json:"runAt"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	// LastError is why the latest attempt did not succeed; nil once the
	// job is done.
	LastError *JobError `json:"lastError,omitempty"`
	// OrderKey, when set, is the value of the listener's order_by path in
	// the event's payload: jobs of one listener with the same key run one
	// at a time, in the order they were created.
	OrderKey string `json:"orderKey,omitempty"`
	// Attempts are the attempts that ran, oldest first; at most
	// MaxAttemptsKept (the oldest are dropped first).
	Attempts []Attempt `json:"attempts,omitempty"`
}

// MaxAttemptsKept bounds Job.Attempts.
const MaxAttemptsKept = 20

// Attempt records one attempt that ran.
type Attempt struct {
	N         int           `json:"n"` // the job's Attempt number while it ran
	StartedAt time.Time     `json:"startedAt"`
	Duration  time.Duration `json:"duration"` // nanoseconds
	Outcome   Outcome       `json:"outcome"`
	Error     *JobError     `json:"error,omitempty"`
}

// AppendAttempt adds a to attempts, dropping the oldest beyond
// MaxAttemptsKept. Backends call it when recording an attempt.
func AppendAttempt(attempts []Attempt, a Attempt) []Attempt {
	attempts = append(attempts, a)
	if n := len(attempts) - MaxAttemptsKept; n > 0 {
		attempts = append(attempts[:0:0], attempts[n:]...)
	}
	return attempts
}

// JobError records why an attempt did not succeed.
type JobError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message"`
	Stack   string    `json:"stack,omitempty"` // JS stack, original file:line
}

// NewJob asks the queue to create one job for a listener.
type NewJob struct {
	Listener string
	MaxTries int
	RunAt    time.Time // zero means now
	OrderKey string    // see Job.OrderKey; empty: not ordered
}
