package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	q := openTest(t, Options{DedupeWindow: time.Hour, Retention: time.Hour, MaxDepth: 100})
	ev := &engine.Event{Name: "x", Source: "s", DeliveryID: "d1", Payload: []byte(`{"a":1}`), Headers: map[string]string{"h": "v"}}
	id, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "l", MaxTries: 3}, {Listener: "m", MaxTries: 1, OrderKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := q.Enqueue(ctx, &engine.Event{Name: "x", Source: "s", DeliveryID: "d1", Payload: []byte(`{}`)}, nil)
	t.Log(id, id2, err)
	leases, err := q.Lease(ctx, 10, map[string]engine.Quota{"l": {Max: 5, LeaseFor: time.Second}, "m": {Max: 5, LeaseFor: time.Second, Concurrency: 1, Rate: engine.Rate{N: 2, Per: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		t.Logf("%+v %s", l.Job, l.Event.Payload)
		if err := q.Start(ctx, l.Job.ID, l.Job.Attempt); err != nil {
			t.Fatal(err)
		}
		if err := q.Finish(ctx, engine.Result{JobID: l.Job.ID, Attempt: l.Job.Attempt, Outcome: engine.Retry, RunAt: time.Now().Add(time.Hour), Err: &engine.JobError{Kind: engine.KindError, Message: "boom\x00"}}); err != nil {
			t.Fatal(err)
		}
	}
	err = q.Finish(ctx, engine.Result{JobID: leases[0].Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	t.Log("second finish:", err)
	st, err := q.Stats(ctx)
	t.Logf("%+v %v", st, err)
	ev2, jobs, err := q.GetEvent(ctx, id)
	t.Logf("%+v %+v %v", ev2, jobs, err)
	page, err := q.ListEvents(ctx, engine.EventQuery{Field: "a", Value: "1"})
	t.Logf("%+v %v", page, err)
	js, err := q.ListJobs(ctx, engine.JobQuery{ErrorContains: "BOOM"})
	t.Logf("%d %v", len(js), err)
	if err := q.KVSet(ctx, "n", "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	v, ok, err := q.KVGet(ctx, "n", "k")
	t.Log(string(v), ok, err)
	var s engine.Sample
	s.Minute, s.Series, s.Count = time.Now(), "job:l", 3
	s.Runtime.Observe(time.Millisecond)
	if err := q.AddSamples(ctx, []engine.Sample{s, s}); err != nil {
		t.Fatal(err)
	}
	ss, err := q.Samples(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	t.Log(ss, err)
	if err := q.Audit(ctx, engine.AuditEntry{Action: "retry", Target: "x", Count: 1, Actor: "cli"}); err != nil {
		t.Fatal(err)
	}
	au, err := q.ListAudit(ctx, 10, time.Time{})
	t.Log(au, err)
	ps, err := q.Processes(ctx)
	t.Log(ps, err)
	n, err := q.Prune(ctx)
	t.Log(n, err)
	t.Log(q.SetPaused(ctx, "l", true), q.Ping(ctx))
	n, err = q.RetryFailed(ctx, engine.JobFilter{})
	t.Log(n, err)
}
