package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

// failJob enqueues one job for listener and fails it for good.
func failJob(t *testing.T, q *store.Queue, listener string) (eventID, jobID string) {
	t.Helper()
	eventID = enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: listener, MaxTries: 1})
	l := lease(t, q, 1, quota(listener))[0]
	finish(t, q, engine.Result{JobID: l.Job.ID, Attempt: l.Job.Attempt, Outcome: engine.Failed,
		Err: &engine.JobError{Attempt: 1, Kind: "error", Message: "boom"}})
	return eventID, l.Job.ID
}

func TestQueue_RetryJob(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	_, id := failJob(t, q, "a")
	if err := q.RetryJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	j := getJob(t, q, id)
	if j.State != engine.JobPending || j.Attempt != 0 || j.LastError == nil || j.LastError.Message != "boom" {
		t.Fatalf("retried job = %+v", j)
	}
	if err := q.RetryJob(ctx, id); !errors.Is(err, store.ErrNotFailed) {
		t.Fatalf("RetryJob of a pending job: %v", err)
	}
	if err := q.RetryJob(ctx, "job_nope"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("RetryJob of a missing job: %v", err)
	}
	ls := lease(t, q, 1, quota("a"))
	if len(ls) != 1 || ls[0].Job.Attempt != 1 {
		t.Fatalf("lease after retry = %+v", ls)
	}
}

func TestQueue_ForgetJob(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	_, failed := failJob(t, q, "a")
	pendingEv := enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "b"})
	_, jobs, _ := q.GetEvent(ctx, pendingEv)
	tests := []struct {
		name string
		id   string
		want error
	}{
		{"pending job refused", jobs[0].ID, store.ErrNotFailed},
		{"failed job", failed, nil},
		{"already forgotten", failed, engine.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := q.ForgetJob(ctx, tt.id)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ForgetJob = %v, want %v", err, tt.want)
			}
		})
	}
	st, _ := q.Stats(ctx)
	if st.States[engine.JobFailed] != 0 || st.States[engine.JobPending] != 1 {
		t.Fatalf("stats = %+v", st.States)
	}
}

func TestQueue_RetryFailed_FlushFailed(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	for range 3 {
		failJob(t, q, "a")
	}
	n, err := q.RetryFailed(ctx, engine.JobFilter{})
	if err != nil || n != 3 {
		t.Fatalf("RetryFailed = %d, %v", n, err)
	}
	for _, l := range lease(t, q, 10, quota("a")) {
		finish(t, q, engine.Result{JobID: l.Job.ID, Attempt: l.Job.Attempt, Outcome: engine.Failed})
	}
	n, err = q.FlushFailed(ctx, engine.JobFilter{})
	if err != nil || n != 3 {
		t.Fatalf("FlushFailed = %d, %v", n, err)
	}
	if jobs, _ := q.ListJobs(ctx, engine.JobQuery{}); len(jobs) != 0 {
		t.Fatalf("jobs left after flush: %+v", jobs)
	}
	if n, err := q.FlushFailed(ctx, engine.JobFilter{}); n != 0 || err != nil {
		t.Fatalf("second FlushFailed = %d, %v", n, err)
	}
}

func TestQueue_AddJobs(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	evID := enqueue(t, q, event("e", `{"k":1}`), engine.NewJob{Listener: "a"})
	ids, err := q.AddJobs(ctx, evID, []engine.NewJob{{Listener: "a"}, {Listener: "b"}})
	if err != nil || len(ids) != 2 {
		t.Fatalf("AddJobs = %v, %v", ids, err)
	}
	_, jobs, err := q.GetEvent(ctx, evID)
	if err != nil || len(jobs) != 3 || jobs[2].ID != ids[1] || jobs[2].State != engine.JobPending {
		t.Fatalf("event jobs = %+v, %v", jobs, err)
	}
	if _, err := q.AddJobs(ctx, "evt_nope", []engine.NewJob{{Listener: "a"}}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("AddJobs to a missing event: %v", err)
	}
}

func TestQueue_Listing(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	var evIDs []string
	for range 5 {
		evIDs = append(evIDs, enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a"}, engine.NewJob{Listener: "b"}))
	}
	lease(t, q, 2, quota("b"))
	// One done and one failed job, from a's first two.
	as := lease(t, q, 2, quota("a"))
	finish(t, q, engine.Result{JobID: as[0].Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	finish(t, q, engine.Result{JobID: as[1].Job.ID, Attempt: 1, Outcome: engine.Failed, Err: &engine.JobError{Message: "x"}})

	p1, err := q.ListEvents(ctx, engine.EventQuery{Limit: 2})
	page1 := p1.Events
	if err != nil || len(page1) != 2 || page1[0].ID != evIDs[0] || page1[1].ID != evIDs[1] {
		t.Fatalf("ListEvents page 1 = %+v, %v", page1, err)
	}
	p2, _ := q.ListEvents(ctx, engine.EventQuery{Limit: 10, After: page1[1].ID})
	page2 := p2.Events
	if len(page2) != 3 || page2[0].ID != evIDs[2] {
		t.Fatalf("ListEvents page 2 = %+v", page2)
	}
	if _, _, err := q.GetEvent(ctx, "evt_nope"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("GetEvent missing: %v", err)
	}
	if _, err := q.GetJob(ctx, "job_nope"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("GetJob missing: %v", err)
	}

	tests := []struct {
		name string
		qry  engine.JobQuery
		want int
	}{
		{"all", engine.JobQuery{}, 10},
		{"limit", engine.JobQuery{Limit: 3}, 3},
		{"running", engine.JobQuery{State: engine.JobRunning}, 2},
		{"pending", engine.JobQuery{State: engine.JobPending}, 6},
		{"pending, limit", engine.JobQuery{State: engine.JobPending, Limit: 4}, 4},
		{"pending after", engine.JobQuery{State: engine.JobPending, After: "job_0000000000000006"}, 4},
		{"done", engine.JobQuery{State: engine.JobDone}, 1},
		{"failed", engine.JobQuery{State: engine.JobFailed}, 1},
		{"listener", engine.JobQuery{Listener: "a"}, 5},
		{"listener and state", engine.JobQuery{Listener: "b", State: engine.JobPending}, 3},
		{"listener and state, limit", engine.JobQuery{Listener: "b", State: engine.JobPending, Limit: 2}, 2},
		{"listener and running", engine.JobQuery{Listener: "b", State: engine.JobRunning, Limit: 1}, 1},
		{"other listener, running", engine.JobQuery{Listener: "a", State: engine.JobRunning}, 0},
		{"event", engine.JobQuery{EventID: evIDs[1]}, 2},
		{"event and listener", engine.JobQuery{EventID: evIDs[1], Listener: "b"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := q.ListJobs(ctx, tt.qry)
			if err != nil || len(jobs) != tt.want {
				t.Fatalf("ListJobs = %d jobs, %v; want %d", len(jobs), err, tt.want)
			}
			for _, j := range jobs {
				if (tt.qry.State != "" && j.State != tt.qry.State) || j.ID <= tt.qry.After {
					t.Fatalf("%+v does not match %+v", j, tt.qry)
				}
			}
			for i := 1; i < len(jobs); i++ {
				if jobs[i].ID <= jobs[i-1].ID {
					t.Fatalf("not in id order: %s after %s", jobs[i].ID, jobs[i-1].ID)
				}
			}
		})
	}
	all, _ := q.ListJobs(ctx, engine.JobQuery{})
	rest, _ := q.ListJobs(ctx, engine.JobQuery{After: all[6].ID})
	if len(rest) != 3 || rest[0].ID != all[7].ID {
		t.Fatalf("ListJobs after = %+v", rest)
	}
	st, _ := q.Stats(ctx)
	if st.States[engine.JobPending] != 6 || st.States[engine.JobRunning] != 2 ||
		st.Listeners["b"][engine.JobRunning] != 2 || st.Listeners["a"][engine.JobPending] != 3 ||
		st.Events != 5 || st.OldestDue.IsZero() {
		t.Fatalf("stats = %+v", st)
	}
}
