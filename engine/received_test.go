package engine

import (
	"context"
	"testing"
	"time"
)

type lastEnqueued struct {
	Replayer // nil: not replayed here
	ev       *Event
}

func (q *lastEnqueued) Enqueue(_ context.Context, ev *Event, _ []NewJob) (string, error) {
	q.ev = ev
	return "evt_1", nil
}

// TestRouter_Submit_SetsReceivedAt: the router is the one place an
// event's receipt time is set, whatever the caller left in it.
func TestRouter_Submit_SetsReceivedAt(t *testing.T) {
	q := &lastEnqueued{}
	rt := NewRouter(q, NewGeneration(1, nil, nil))
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	rt.now = func() time.Time { return at }
	for _, preset := range []time.Time{{}, at.Add(-time.Hour)} {
		ev := &Event{Name: "e", Source: "s", ReceivedAt: preset}
		if _, err := rt.Submit(context.Background(), ev, nil); err != nil {
			t.Fatal(err)
		}
		if !q.ev.ReceivedAt.Equal(at) || q.ev.ReceivedAt.Location() != time.UTC {
			t.Fatalf("preset %v: ReceivedAt = %v, want the router's now %v in UTC", preset, q.ev.ReceivedAt, at.UTC())
		}
	}
}
