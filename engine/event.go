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
	Crashes    int       `json:"crashes,omitempty"`
	RunAt      time.Time `json:"runAt"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	LastError  *JobError `json:"lastError,omitempty"`
}

// JobError records why an attempt did not succeed.
type JobError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"` // "error", "timeout", "crash", "cancel", "lease"
	Message string    `json:"message"`
	Stack   string    `json:"stack,omitempty"` // JS stack, original file:line
}

// NewJob asks the queue to create one job for a listener.
type NewJob struct {
	Listener string
	MaxTries int
	RunAt    time.Time // zero means now
}
