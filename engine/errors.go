package engine

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared across packages. The admin and ingest HTTP layers
// map them to status codes in one place each.
var (
	// ErrNotFound: no event or job with that id.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: the delivery id was seen within the dedupe window.
	ErrDuplicate = errors.New("duplicate delivery")
	// ErrUnavailable: the queue cannot accept writes now (store error,
	// disk full, over max depth); the sender should retry later.
	ErrUnavailable = errors.New("queue unavailable")
	// ErrLeaseLost: an ack for an attempt that no longer holds the job
	// (its lease expired and the job was taken back).
	ErrLeaseLost = errors.New("lease lost")
	// ErrClosed: the component was closed.
	ErrClosed = errors.New("closed")
	// ErrConflict: the request does not fit the resource's state, such as
	// retrying a job that has not failed.
	ErrConflict = errors.New("conflict")
)

// SnoozeError asks for the job to run again after After without spending
// an attempt (Laravel's release(), River's JobSnooze). Listeners raise it
// with snooze("30s") from the "switchboard" module.
type SnoozeError struct{ After time.Duration }

func (e *SnoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.After) }

// CancelError fails the job for good, skipping any remaining tries.
// Listeners raise it with cancel("reason").
type CancelError struct{ Reason string }

func (e *CancelError) Error() string { return "cancelled: " + e.Reason }
