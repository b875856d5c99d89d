package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

func TestQueue_Lease_Quota(t *testing.T) {
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now})
	// Interleave listeners so RunAt order differs from listener order.
	for i := range 4 {
		at := clk.Now().Add(time.Duration(-i) * time.Second)
		enqueue(t, q, event("e", "{}"),
			engine.NewJob{Listener: "a", RunAt: at}, engine.NewJob{Listener: "b", RunAt: at},
			engine.NewJob{Listener: "c", RunAt: at})
	}
	tests := []struct {
		name  string
		max   int
		quota map[string]engine.Quota
		want  map[string]int
	}{
		{"per-listener max", 10, map[string]engine.Quota{"a": {Max: 2, LeaseFor: time.Minute}}, map[string]int{"a": 2}},
		{"absent listener left alone", 10, map[string]engine.Quota{"b": {Max: 10, LeaseFor: time.Minute}}, map[string]int{"b": 4}},
		// a's two earliest are running: c-3s, c-2s, then the -1s tie goes to a (older id).
		{"overall max", 3, map[string]engine.Quota{"a": {Max: 10, LeaseFor: time.Minute}, "c": {Max: 10, LeaseFor: time.Minute}}, map[string]int{"a": 1, "c": 2}},
		{"zero quota", 10, map[string]engine.Quota{"c": {Max: 0, LeaseFor: time.Minute}}, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := lease(t, q, tt.max, tt.quota)
			got := map[string]int{}
			var last time.Time
			for _, l := range ls {
				got[l.Job.Listener]++
				if l.Job.RunAt.Before(last) {
					t.Errorf("not in RunAt order: %v after %v", l.Job.RunAt, last)
				}
				last = l.Job.RunAt
			}
			if len(got) != len(tt.want) {
				t.Fatalf("leased %v, want %v", got, tt.want)
			}
			for l, n := range tt.want {
				if got[l] != n {
					t.Fatalf("leased %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestQueue_Lease_Expired(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now})
	enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a", MaxTries: 2})
	first := lease(t, q, 1, quota("a"))[0]
	start(t, q, first.Job)

	clk.Add(2 * time.Minute) // lease was for one minute
	second := lease(t, q, 1, quota("a"))
	if len(second) != 1 || second[0].Job.ID != first.Job.ID || second[0].Job.Attempt != 2 {
		t.Fatalf("after expiry leased %+v", second)
	}
	if e := second[0].Job.LastError; e == nil || e.Kind != "lease" || e.Attempt != 1 {
		t.Fatalf("LastError = %+v", e)
	}
	// The first worker comes back late: its ack is fenced off.
	err := q.Finish(ctx, engine.Result{JobID: first.Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	if !errors.Is(err, engine.ErrLeaseLost) {
		t.Fatalf("stale Finish: %v", err)
	}
	// The second lease expires too, with tries spent: failed.
	start(t, q, second[0].Job)
	clk.Add(2 * time.Minute)
	if ls := lease(t, q, 1, quota("a")); len(ls) != 0 {
		t.Fatalf("leased a job whose tries are spent: %+v", ls)
	}
	j := getJob(t, q, first.Job.ID)
	if j.State != engine.JobFailed || j.Attempt != 2 || j.LastError.Kind != "lease" {
		t.Fatalf("job = %+v", j)
	}
}

func TestQueue_Finish_Fencing(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a", MaxTries: 3})
	l := lease(t, q, 1, quota("a"))[0]
	tests := []struct {
		name string
		res  engine.Result
		want error
	}{
		{"stale attempt", engine.Result{JobID: l.Job.ID, Attempt: 0, Outcome: engine.Succeeded}, engine.ErrLeaseLost},
		{"future attempt", engine.Result{JobID: l.Job.ID, Attempt: 2, Outcome: engine.Failed}, engine.ErrLeaseLost},
		{"unknown job", engine.Result{JobID: "job_ffffffffffffffff", Attempt: 1}, engine.ErrNotFound},
		{"current attempt", engine.Result{JobID: l.Job.ID, Attempt: 1, Outcome: engine.Succeeded}, nil},
		{"already done", engine.Result{JobID: l.Job.ID, Attempt: 1, Outcome: engine.Succeeded}, engine.ErrLeaseLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := q.Finish(ctx, tt.res); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Finish = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestQueue_Finish_Outcomes(t *testing.T) {
	clk := newClock()
	later := clk.Now().Add(10 * time.Second)
	jerr := &engine.JobError{Attempt: 1, Kind: "error", Message: "boom"}
	tests := []struct {
		name        string
		res         engine.Result
		wantState   engine.JobState
		wantAttempt int
		wantRunAt   time.Time
		wantErr     bool
	}{
		{"succeeded", engine.Result{Outcome: engine.Succeeded}, engine.JobDone, 1, time.Time{}, false},
		{"retry", engine.Result{Outcome: engine.Retry, RunAt: later, Err: jerr}, engine.JobPending, 1, later, true},
		{"snoozed keeps the attempt", engine.Result{Outcome: engine.Snoozed, RunAt: later}, engine.JobPending, 0, later, false},
		{"failed", engine.Result{Outcome: engine.Failed, Err: jerr}, engine.JobFailed, 1, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := openQueue(t, store.Options{Now: clk.Now})
			enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a", MaxTries: 3})
			l := lease(t, q, 1, quota("a"))[0]
			tt.res.JobID, tt.res.Attempt = l.Job.ID, 1
			finish(t, q, tt.res)
			j := getJob(t, q, l.Job.ID)
			if j.State != tt.wantState || j.Attempt != tt.wantAttempt {
				t.Fatalf("job = %s attempt %d, want %s attempt %d", j.State, j.Attempt, tt.wantState, tt.wantAttempt)
			}
			if !tt.wantRunAt.IsZero() && !j.RunAt.Equal(tt.wantRunAt) {
				t.Fatalf("RunAt = %v, want %v", j.RunAt, tt.wantRunAt)
			}
			if tt.wantErr && (j.LastError == nil || j.LastError.Message != "boom") {
				t.Fatalf("LastError = %+v", j.LastError)
			}
			if tt.wantState == engine.JobPending {
				clk.Add(10 * time.Second)
				again := lease(t, q, 1, quota("a"))
				if len(again) != 1 || again[0].Job.Attempt != tt.wantAttempt+1 {
					t.Fatalf("re-lease = %+v", again)
				}
			}
		})
	}
}

func TestQueue_CrashRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	var id string
	for crash := 1; crash <= 2; crash++ {
		q, err := store.Open(store.Options{Path: path, CrashLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if crash == 1 {
			enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a", MaxTries: 5})
		}
		ls := lease(t, q, 1, quota("a"))
		if len(ls) != 1 {
			t.Fatalf("crash %d: leased %d", crash, len(ls))
		}
		id = ls[0].Job.ID
		start(t, q, ls[0].Job)
		// Close with the job still running, as a dead process leaves it.
		if err := q.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		q, err = store.Open(store.Options{Path: path, CrashLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		j, err := q.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Crashes != crash || j.Attempt != crash || j.LastError == nil || j.LastError.Kind != "crash" {
			t.Fatalf("crash %d: job = %+v err %+v", crash, j, j.LastError)
		}
		wantState := engine.JobPending
		if crash == 2 {
			wantState = engine.JobFailed
			if !strings.Contains(j.LastError.Message, "crashed the process 2 times") {
				t.Fatalf("message = %q", j.LastError.Message)
			}
		}
		if j.State != wantState {
			t.Fatalf("crash %d: state = %s, want %s", crash, j.State, wantState)
		}
		if crash == 1 {
			select {
			case <-q.Ready():
			default:
				t.Fatal("Ready not signalled for recovered pending jobs")
			}
		}
		if err := q.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// A job leased ahead whose attempt never started gets the attempt back
// when its lease expires or the process dies, and no crash is counted.
func TestQueue_UnstartedLease_NotCharged(t *testing.T) {
	ctx := context.Background()
	t.Run("lease expired", func(t *testing.T) {
		clk := newClock()
		q := openQueue(t, store.Options{Now: clk.Now})
		enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a", MaxTries: 1})
		first := lease(t, q, 1, quota("a"))[0]
		clk.Add(2 * time.Minute)
		again := lease(t, q, 1, quota("a"))
		if len(again) != 1 || again[0].Job.Attempt != 1 || again[0].Job.LastError != nil {
			t.Fatalf("after an unstarted lease expired, leased %+v; want attempt 1 again, no error", again)
		}
		if err := q.Start(ctx, first.Job.ID, 0); !errors.Is(err, engine.ErrLeaseLost) {
			t.Fatalf("Start with a stale attempt = %v, want ErrLeaseLost", err)
		}
	})
	t.Run("crash", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "q.db")
		q, err := store.Open(store.Options{Path: path, CrashLimit: 1})
		if err != nil {
			t.Fatal(err)
		}
		enqueue(t, q, event("e1", "{}"), engine.NewJob{Listener: "a", MaxTries: 3})
		enqueue(t, q, event("e2", "{}"), engine.NewJob{Listener: "a", MaxTries: 3})
		ls := lease(t, q, 2, quota("a"))
		if len(ls) != 2 {
			t.Fatalf("leased %d", len(ls))
		}
		start(t, q, ls[0].Job) // the other waits in a prefetch buffer
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		q, err = store.Open(store.Options{Path: path, CrashLimit: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Close(ctx) })
		ran := getJob(t, q, ls[0].Job.ID)
		if ran.State != engine.JobFailed || ran.Crashes != 1 {
			t.Fatalf("started job = %+v; want failed after its one allowed crash", ran)
		}
		waited := getJob(t, q, ls[1].Job.ID)
		if waited.State != engine.JobPending || waited.Attempt != 0 || waited.Crashes != 0 ||
			waited.LastError != nil || !waited.Suspect {
			t.Fatalf("unstarted job = %+v (%+v); want pending, attempt 0, no crash counted, no error, suspect", waited, waited.LastError)
		}
	})
}
