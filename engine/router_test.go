package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// replayQueue holds stored events for Router.Replay and records the jobs
// it was asked to add.
type replayQueue struct {
	lastEnqueued
	events map[string]*Event
	added  []NewJob
}

func (q *replayQueue) GetEvent(_ context.Context, id string) (*Event, []Job, error) {
	ev, ok := q.events[id]
	if !ok {
		return nil, nil, fmt.Errorf("get event %s: %w", id, ErrNotFound)
	}
	return ev, nil, nil
}

func (q *replayQueue) AddJobs(_ context.Context, eventID string, jobs []NewJob) ([]string, error) {
	q.added = append(q.added, jobs...)
	ids := make([]string, len(jobs))
	for i := range jobs {
		ids[i] = fmt.Sprintf("job_%s_%d", eventID, i)
	}
	return ids, nil
}

// TestRouter_Replay: a replay adds one job per listener of the current
// generation that hears the event now (its `when` filters read the stored
// payload); an event none hears is a conflict, an unknown one not found,
// and neither adds a job.
func TestRouter_Replay(t *testing.T) {
	q := &replayQueue{events: map[string]*Event{
		"evt_1": {ID: "evt_1", Name: "media.processed", Payload: []byte(`{"status":"succeeded"}`)},
		"evt_2": {ID: "evt_2", Name: "other.thing", Payload: []byte(`{}`)},
	}}
	succeeded, err := NewFilter("when", map[string]any{"status": "succeeded"})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := NewFilter("when", map[string]any{"status": "failed"})
	if err != nil {
		t.Fatal(err)
	}
	routes := NewRoutes([]*Listener{
		{Name: "thumbs", On: []string{"media.processed"}, When: succeeded, Tries: 3},
		{Name: "notify", On: []string{"media.processed"}, Tries: 3},
		{Name: "failures", On: []string{"media.processed"}, When: failed, Tries: 3},
	})
	rt := NewRouter(q, NewGeneration(1, routes, nil))

	ids, err := rt.Replay(context.Background(), "evt_1")
	if err != nil || len(ids) != 2 {
		t.Fatalf("Replay(evt_1) = %v, %v; want two job ids", ids, err)
	}
	var names []string
	for _, j := range q.added {
		names = append(names, j.Listener)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"notify", "thumbs"}) {
		t.Fatalf("jobs added for %v, want notify and thumbs (failures' filter does not match)", names)
	}

	q.added = nil
	if _, err := rt.Replay(context.Background(), "evt_2"); !errors.Is(err, ErrConflict) || len(q.added) != 0 {
		t.Fatalf("Replay of an event no listener hears = %v (added %v), want ErrConflict and no job", err, q.added)
	}
	if _, err := rt.Replay(context.Background(), "evt_nope"); !errors.Is(err, ErrNotFound) || len(q.added) != 0 {
		t.Fatalf("Replay of an unknown event = %v (added %v), want ErrNotFound and no job", err, q.added)
	}
}
