package jetstream

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard/switchboard/engine"
)

// jobSpec is one job as its creating message (event or replay) carries it,
// in the Sb-Jobs header. Until the job first changes it has no record of
// its own: it is pending as the spec says.
type jobSpec struct {
	Listener string `json:"l"`
	MaxTries int    `json:"t"`
	RunAt    int64  `json:"r,omitempty"` // unix nanos; 0 = when created
	OrderKey string `json:"k,omitempty"`
}

// record is a job's state once it has changed, stored as the last (only)
// message on the job's subject in the state stream. Every change is a
// compare-and-set on that subject's sequence.
type record struct {
	engine.Job
	// Started: the running attempt has begun (Leaser.Start); until then a
	// lost lease gives the attempt back.
	Started bool `json:"started,omitempty"`
	// Holder is the process id that holds the running attempt.
	Holder string `json:"holder,omitempty"`
	// Claim identifies the claim that made it running, so that a claim
	// whose write got no answer is told from a later one of the same
	// attempt (see releaseLost).
	Claim string `json:"claim,omitempty"`
	// Sem: the attempt holds a slot of the listener's concurrency
	// semaphore, to be released when it ends.
	Sem bool `json:"sem,omitempty"`
	// Deleted marks a forgotten or pruned job (a tombstone kept while its
	// event exists, so the job is not taken to be pending again).
	Deleted bool `json:"deleted,omitempty"`
}

// clone returns a copy that may be changed without touching r (records
// held by the view are shared).
func (r *record) clone() *record {
	c := *r
	c.Attempts = slices.Clone(r.Attempts)
	return &c
}

func decodeRecord(data []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode job record: %w", err)
	}
	return &r, nil
}

// specsOf turns the NewJobs of an enqueue into specs.
func specsOf(jobs []engine.NewJob) ([]jobSpec, error) {
	if len(jobs) > maxJobsPer {
		return nil, fmt.Errorf("%d jobs for one event: at most %d", len(jobs), maxJobsPer)
	}
	specs := make([]jobSpec, len(jobs))
	for i, nj := range jobs {
		specs[i] = jobSpec{Listener: nj.Listener, MaxTries: max(nj.MaxTries, 1), OrderKey: nj.OrderKey}
		if !nj.RunAt.IsZero() {
			specs[i].RunAt = nj.RunAt.UnixNano()
		}
	}
	return specs, nil
}

// eventMsg builds the message that stores ev and its jobs: the payload,
// byte for byte, as the body; everything else in headers (which the
// view's feed reads without the bodies).
func eventMsg(subj string, ev *engine.Event, specs []jobSpec, created time.Time) (*nats.Msg, error) {
	js, err := jsonString(specs)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(subj)
	m.Data = ev.Payload
	m.Header.Set(hKind, "ev")
	m.Header.Set(hName, ev.Name)
	m.Header.Set(hSource, ev.Source)
	if ev.DeliveryID != "" {
		m.Header.Set(hDelivery, ev.DeliveryID)
	}
	if ev.Parent != "" {
		m.Header.Set(hParent, ev.Parent)
	}
	if len(ev.Headers) > 0 {
		hs, err := jsonString(ev.Headers)
		if err != nil {
			return nil, err
		}
		m.Header.Set(hHeaders, hs)
	}
	m.Header.Set(hAt, ev.ReceivedAt.UTC().Format(time.RFC3339Nano))
	m.Header.Set(hCreated, created.UTC().Format(time.RFC3339Nano))
	m.Header.Set(hJobs, js)
	return m, nil
}

// decodeEvent rebuilds an event from its stored message.
func decodeEvent(seq uint64, h nats.Header, data []byte) (*engine.Event, error) {
	ev := &engine.Event{
		ID: eventID(seq), Name: h.Get(hName), Source: h.Get(hSource), DeliveryID: h.Get(hDelivery),
		Parent: h.Get(hParent), Payload: data,
	}
	ev.ReceivedAt, _ = time.Parse(time.RFC3339Nano, h.Get(hAt))
	if hs := h.Get(hHeaders); hs != "" {
		if err := json.Unmarshal([]byte(hs), &ev.Headers); err != nil {
			return nil, fmt.Errorf("decode event %s headers: %w", ev.ID, err)
		}
	}
	if ev.Payload == nil {
		ev.Payload = json.RawMessage{}
	}
	return ev, nil
}

// headerTime parses a time header; zero if absent.
func headerTime(h nats.Header, key string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, h.Get(key))
	return t
}

// decodeSpecs reads the Sb-Jobs header.
func decodeSpecs(h nats.Header) ([]jobSpec, error) {
	v := h.Get(hJobs)
	if v == "" {
		return nil, nil
	}
	var specs []jobSpec
	if err := json.Unmarshal([]byte(v), &specs); err != nil {
		return nil, fmt.Errorf("decode jobs header: %w", err)
	}
	return specs, nil
}

// jsonString encodes v for a header (JSON escapes control characters, so
// the text holds no line breaks).
func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode header: %w", err)
	}
	return string(b), nil
}
