package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// jobCols and eventCols are the columns jobRow and eventRow scan, in
// order, with the tables aliased j and e.
const (
	jobCols = `j.id, j.event_id, j.listener, j.state, j.attempt, j.max_tries, j.crashes, j.run_at,
		j.lease_until, j.created_at, j.updated_at, j.last_error, j.order_key, j.attempts, j.suspect`
	eventCols = `e.id, e.name, e.source, e.delivery_id, e.received_at, e.headers, e.payload, e.parent`
)

var stateNames = [...]engine.JobState{
	statePending: engine.JobPending, stateRunning: engine.JobRunning,
	stateDone: engine.JobDone, stateFailed: engine.JobFailed,
}

// stateCode returns the stored code of a state, false for an unknown one.
func stateCode(s engine.JobState) (int16, bool) {
	for i, n := range stateNames {
		if n == s {
			return int16(i), true
		}
	}
	return 0, false
}

type jobRow struct {
	id, eventID                int64
	listener                   string
	state                      int16
	attempt, maxTries, crashes int32
	runAt                      time.Time
	leaseUntil                 *time.Time
	createdAt, updatedAt       time.Time
	lastError                  []byte
	orderKey                   *string
	attempts                   []byte
	suspect                    bool
}

func (r *jobRow) dest() []any {
	return []any{&r.id, &r.eventID, &r.listener, &r.state, &r.attempt, &r.maxTries, &r.crashes, &r.runAt,
		&r.leaseUntil, &r.createdAt, &r.updatedAt, &r.lastError, &r.orderKey, &r.attempts, &r.suspect}
}

func (r *jobRow) job() (engine.Job, error) {
	j := engine.Job{
		ID: formatID(jobPrefix, r.id), EventID: formatID(eventPrefix, r.eventID), Listener: r.listener,
		Attempt: int(r.attempt), MaxTries: int(r.maxTries), Crashes: int(r.crashes),
		RunAt: utc(r.runAt), CreatedAt: utc(r.createdAt), UpdatedAt: utc(r.updatedAt), Suspect: r.suspect,
	}
	if int(r.state) < len(stateNames) {
		j.State = stateNames[r.state]
	}
	if r.leaseUntil != nil {
		j.LeaseUntil = utc(*r.leaseUntil)
	}
	if r.orderKey != nil {
		j.OrderKey = *r.orderKey
	}
	if len(r.lastError) > 0 {
		j.LastError = &engine.JobError{}
		if err := json.Unmarshal(r.lastError, j.LastError); err != nil {
			return j, fmt.Errorf("decode job %s last error: %w", j.ID, err)
		}
		j.LastError.At = utc(j.LastError.At)
	}
	if len(r.attempts) > 0 {
		if err := json.Unmarshal(r.attempts, &j.Attempts); err != nil {
			return j, fmt.Errorf("decode job %s attempts: %w", j.ID, err)
		}
		for i := range j.Attempts {
			a := &j.Attempts[i]
			a.StartedAt = utc(a.StartedAt)
			if a.Error != nil {
				a.Error.At = utc(a.Error.At)
			}
		}
	}
	return j, nil
}

type eventRow struct {
	id                          int64
	name, source, delivery, par string
	receivedAt                  time.Time
	headers, payload            []byte
}

func (r *eventRow) dest() []any {
	return []any{&r.id, &r.name, &r.source, &r.delivery, &r.receivedAt, &r.headers, &r.payload, &r.par}
}

func (r *eventRow) event() (*engine.Event, error) {
	ev := &engine.Event{
		ID: formatID(eventPrefix, r.id), Name: r.name, Source: r.source, DeliveryID: r.delivery,
		ReceivedAt: utc(r.receivedAt), Payload: json.RawMessage(r.payload), Parent: r.par,
	}
	if len(r.headers) > 0 {
		if err := json.Unmarshal(r.headers, &ev.Headers); err != nil {
			return nil, fmt.Errorf("decode event %s headers: %w", ev.ID, err)
		}
	}
	return ev, nil
}

// jobErrorJSON encodes e for a jsonb column ("" for nil), with text
// PostgreSQL's jsonb refuses (NUL) replaced.
func jobErrorJSON(e *engine.JobError) (string, error) {
	if e == nil {
		return "", nil
	}
	c := *e
	c.Message, c.Stack = cleanText(c.Message), cleanText(c.Stack)
	c.At = utc(c.At)
	b, err := json.Marshal(c)
	return string(b), err
}
