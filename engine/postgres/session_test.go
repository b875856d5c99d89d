package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// TestListen_Fallback: while the LISTEN session is down the workers are
// woken every PollInterval, and the session comes back by itself, with
// another process's jobs waking this one again.
func TestListen_Fallback(t *testing.T) {
	q := openTest(t, Options{PollInterval: 50 * time.Millisecond})
	peer := reopen(t, q)
	if !q.listening.Load() {
		t.Fatal("not listening after Open")
	}
	q.session.hold.Store(true)
	terminateSession(t, q)
	waitCond(t, "listening stops", func() bool { return !q.listening.Load() })
	drain(q)
	select {
	case <-q.Ready():
	case <-time.After(2 * time.Second):
		t.Fatal("Ready did not fire while polling")
	}
	q.session.hold.Store(false)
	waitCond(t, "listening resumes", func() bool { return q.listening.Load() })
	drain(q)
	if _, err := peer.Enqueue(context.Background(), &engine.Event{Name: "e", Source: "s", Payload: []byte(`{}`)},
		[]engine.NewJob{{Listener: "l", MaxTries: 1}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("another process's job did not wake this one after the session came back")
	}
}

// TestLiveness_SessionLost: a process whose LISTEN session dropped but
// whose heartbeats go on is alive: listed, and its running job stays its.
func TestLiveness_SessionLost(t *testing.T) {
	q := openTest(t, Options{PollInterval: time.Hour})
	peer := reopen(t, q)
	q.session.dead.Store(true) // keep it from reconnecting
	if _, err := q.Enqueue(context.Background(), &engine.Event{Name: "e", Source: "s", Payload: []byte(`{}`)},
		[]engine.NewJob{{Listener: "l", MaxTries: 1}}); err != nil {
		t.Fatal(err)
	}
	ls, err := q.Lease(context.Background(), 1, map[string]engine.Quota{"l": {Max: 1, LeaseFor: time.Minute}})
	if err != nil || len(ls) != 1 {
		t.Fatalf("lease: %v %v", ls, err)
	}
	if err := q.Start(context.Background(), ls[0].Job.ID, 1); err != nil {
		t.Fatal(err)
	}
	terminateSession(t, q)
	time.Sleep(5 * q.opts.HeartbeatInterval) // several sweeps by the peer
	ps, err := peer.Processes(context.Background())
	if err != nil || len(ps) != 2 {
		t.Fatalf("processes = %v, %v; want both", ps, err)
	}
	j, err := peer.GetJob(context.Background(), ls[0].Job.ID)
	if err != nil || j.State != engine.JobRunning || j.Crashes != 0 {
		t.Fatalf("job = %+v, %v; want still running, no crash", j, err)
	}
	if err := q.Finish(context.Background(), engine.Result{JobID: j.ID, Attempt: 1, Outcome: engine.Succeeded}); err != nil {
		t.Fatalf("finish by its own process: %v", err)
	}
}
