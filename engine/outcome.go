package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Outcome is how an attempt ended, as reported to the queue.
type Outcome int

// The outcomes a worker reports. Snoozed, Interrupted and Returned all
// leave the job pending at Result.RunAt without spending its attempt;
// they differ in what is recorded: Snoozed and Interrupted ran and appear
// in the job's Attempts, Returned never started and appears nowhere (not
// in Attempts, not in metrics).
const (
	Succeeded   Outcome = iota // job done
	Retry                      // attempt failed; run again at RunAt
	Snoozed                    // the listener asked to run again later (snooze())
	Failed                     // failed for good (tries spent, cancelled, crash limit)
	Interrupted                // stopped by shutdown mid-run; not the listener's fault
	Returned                   // handed back unrun (leased ahead, listener gone, lease too short)
)

var outcomeNames = [...]string{
	Succeeded: "succeeded", Retry: "retry", Snoozed: "snoozed", Failed: "failed",
	Interrupted: "interrupted", Returned: "returned",
}

// String is the outcome's name, as used in metrics labels and JSON.
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText encodes the outcome by name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText decodes an outcome name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("unknown outcome %q", b)
}

// ErrorKind names why an attempt did not succeed.
type ErrorKind string

// The error kinds a job record carries.
const (
	KindError       ErrorKind = "error"       // the listener threw
	KindTimeout     ErrorKind = "timeout"     // the attempt ran past the listener's timeout
	KindMemory      ErrorKind = "memory"      // stopped by the memory limit
	KindCancel      ErrorKind = "cancel"      // the listener called cancel(): no more tries
	KindCrash       ErrorKind = "crash"       // the process died while the attempt ran
	KindLease       ErrorKind = "lease"       // the lease ran out before the attempt finished
	KindInterrupted ErrorKind = "interrupted" // stopped by shutdown; runs again
)

// ErrMemoryLimit is the cause of an attempt stopped because the process
// ran out of its script memory budget.
var ErrMemoryLimit = errors.New("memory limit exceeded")

// ErrCrashed is the cause of an attempt whose script process died under
// it (scripts.isolation = "process") for a reason other than its memory
// cap; the router itself lives on.
var ErrCrashed = errors.New("script process crashed")

// Result reports an attempt's end to the queue.
type Result struct {
	JobID   string
	Attempt int // fences the ack: must equal the job's current attempt
	Outcome Outcome
	RunAt   time.Time // for Retry, Snoozed, Interrupted and Returned
	Err     *JobError // for Retry and Failed (and Interrupted: why)
	// StartedAt and Duration describe the attempt that ran (zero for
	// Returned); they go into the job's Attempts.
	StartedAt time.Time
	Duration  time.Duration
}

// Ending is how one run of a listener ended, before tries and backoff are
// applied: what Classify makes of the error a run returned. The worker,
// `switchboard run` and `switchboard test` all read runs through it.
type Ending struct {
	Outcome   Outcome       // Succeeded, Snoozed, Interrupted, Failed (cancel) or Retry (any other failure)
	SnoozeFor time.Duration // for Snoozed
	Err       *JobError     // Kind, Message and Stack; nil on success and snooze
}

// Classify decides how a run that returned err ended. timeout is the
// listener's timeout (for the message); ctxErr is the attempt context's
// Err() after the run; stopping reports that the process is shutting
// down and interrupted the run.
func Classify(err error, ctxErr error, timeout time.Duration, stopping bool) Ending {
	if err == nil {
		return Ending{Outcome: Succeeded}
	}
	var snooze *SnoozeError
	if errors.As(err, &snooze) {
		return Ending{Outcome: Snoozed, SnoozeFor: snooze.After}
	}
	e := &JobError{Kind: KindError, Message: err.Error()}
	var st interface{ StackTrace() string }
	if errors.As(err, &st) {
		e.Stack = st.StackTrace()
	}
	var cancelled *CancelError
	switch {
	case stopping:
		e.Kind, e.Message = KindInterrupted, "interrupted by shutdown; the attempt was not counted"
		return Ending{Outcome: Interrupted, Err: e}
	case errors.As(err, &cancelled):
		e.Kind, e.Message = KindCancel, cancelled.Reason
		return Ending{Outcome: Failed, Err: e}
	case errors.Is(err, ErrMemoryLimit):
		e.Kind = KindMemory
	case errors.Is(err, ErrCrashed):
		e.Kind = KindCrash
	case errors.Is(ctxErr, context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindTimeout
		e.Message = fmt.Sprintf("listener timed out after %s", timeout)
	}
	return Ending{Outcome: Retry, Err: e}
}

// Result turns the ending of job's current attempt into what the queue
// should do: a failure is retried after backoff until the job's tries are
// spent, then failed for good. now stamps the error and schedules.
func (e Ending) Result(job *Job, backoff Backoff, now time.Time) Result {
	res := Result{JobID: job.ID, Attempt: job.Attempt, Outcome: e.Outcome}
	if e.Err != nil {
		je := *e.Err
		je.Attempt, je.At = job.Attempt, now
		res.Err = &je
	}
	switch e.Outcome {
	case Snoozed:
		res.RunAt = now.Add(e.SnoozeFor)
	case Interrupted:
		res.RunAt = now
	case Retry:
		if job.Attempt >= job.MaxTries {
			res.Outcome = Failed
		} else {
			res.RunAt = now.Add(backoff.After(job.Attempt))
		}
	}
	return res
}
