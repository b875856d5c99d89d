package emit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/engine"
)

// Submitter stores an event and its jobs; *engine.Router implements it.
type Submitter interface {
	// Submit routes ev (payload is its decoded JSON, for `when` filters),
	// stores it durably with its jobs and returns its id. For a delivery id
	// seen before it returns the earlier event's id and engine.ErrDuplicate.
	Submit(ctx context.Context, ev *engine.Event, payload any) (string, error)
}

var _ Submitter = (*engine.Router)(nil)

// Module is the "emit" host module.
type Module struct {
	sub Submitter
}

var _ engine.Module = (*Module)(nil)

// New returns the module submitting through s.
func New(s Submitter) *Module { return &Module{sub: s} }

// Name is the export name, "emit".
func (m *Module) Name() string { return "emit" }

// Exports returns the function emit(name, payload) → event id. The event's
// source is "emit" and its parent the calling job's event. Its delivery id
// is DeliveryID(job, name, payload), so a retried attempt that emits the
// same event again gets the first one's id back instead of a second event
// (and so does an identical emit twice within one attempt). In a dry run
// the call is recorded and nothing is stored.
func (m *Module) Exports(cur func() *engine.Invocation) any {
	return func(name string, payload any) (string, error) {
		inv := cur()
		if name == "" {
			return "", errors.New("emit: event name is empty")
		}
		raw, err := json.Marshal(payload)
		if err != nil {
			return "", fmt.Errorf("emit %s: payload is not JSON-serialisable: %w", name, err)
		}
		if inv.Recorder != nil {
			inv.Recorder.Record("emit", "emit", name, payload)
			return "dry-run", nil
		}
		// Decoded the way ingest decodes a webhook, for the same `when`
		// filters; a number no script could read back is refused here.
		decoded, err := engine.DecodePayload(raw)
		if err != nil {
			return "", fmt.Errorf("emit %s: %w", name, err)
		}
		ev := &engine.Event{Name: name, Source: "emit", Payload: raw}
		if inv.Event != nil {
			ev.Parent = inv.Event.ID
		}
		if inv.Job != nil {
			ev.DeliveryID = DeliveryID(inv.Job.ID, name, raw)
		}
		id, err := m.sub.Submit(inv.Ctx, ev, decoded)
		if errors.Is(err, engine.ErrDuplicate) {
			return id, nil
		}
		if err != nil {
			return "", fmt.Errorf("emit %s: %w", name, err)
		}
		return id, nil
	}
}

// DeliveryID is "emit:<job id>:<name>:<sha256 hex of the payload JSON>":
// stable across retries of one job, different across jobs, names and
// payloads.
func DeliveryID(jobID, name string, payload []byte) string {
	sum := sha256.Sum256(payload)
	return "emit:" + jobID + ":" + name + ":" + hex.EncodeToString(sum[:])
}
