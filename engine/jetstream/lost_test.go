package jetstream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/jetstream/natstest"
)

// TestLease_LostClaimGivenBack: claims stored on the servers whose answer
// never arrived (here: the leases are dropped, as a lost connection
// would) leave jobs running under this process that no worker holds. The
// next Lease gives them back, uncharged, and claims them again, instead
// of leaving them until their hour-long lease ends; a claim of the same
// job and attempt made after it is not mistaken for the lost one.
func TestLease_LostClaimGivenBack(t *testing.T) {
	t.Parallel()
	srv := natstest.Run(t, natstest.Options{})
	q := openTest(t, Options{URLs: []string{srv.URL()}})
	ctx := context.Background()
	for i := range 3 {
		ev := &engine.Event{Name: "e", Source: "s", DeliveryID: fmt.Sprint(i), ReceivedAt: time.Now(), Payload: []byte(`{}`)}
		if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a", MaxTries: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	quota := map[string]engine.Quota{"a": {Max: 10, LeaseFor: time.Hour}}
	var lost []engine.Lease
	waitUntil(t, 10*time.Second, "the first lease", func() bool {
		ls, err := q.Lease(ctx, 10, quota)
		if err != nil {
			t.Fatal(err)
		}
		lost = append(lost, ls...)
		return len(lost) == 3
	})
	for _, l := range lost { // what claim does when a write gets no answer
		q.view.mu.Lock()
		claim := q.view.jobs[l.Job.ID].rec.Claim
		q.view.mu.Unlock()
		q.lost.add(claim, l.Job.ID, time.Now().Add(time.Hour))
	}

	again, err := q.Lease(ctx, 10, quota)
	if err != nil || len(again) != 3 {
		t.Fatalf("lease after the lost answers = %d, %v; want the same 3 jobs again", len(again), err)
	}
	for _, l := range again {
		if l.Job.Attempt != 1 || l.Job.Crashes != 0 || l.Job.LastError != nil {
			t.Fatalf("job %s leased again as %+v; want attempt 1, no crash, no error (the lost claim is not charged)", l.Job.ID, l.Job)
		}
	}
	// The new claims are of the same jobs and attempts; later Leases must
	// not give them back.
	if more, err := q.Lease(ctx, 10, quota); err != nil || len(more) != 0 {
		t.Fatalf("third lease = %d, %v; want nothing (the jobs are held)", len(more), err)
	}
	for _, l := range again {
		if err := q.Start(ctx, l.Job.ID, l.Job.Attempt); err != nil {
			t.Fatalf("start %s after the lost claims were looked at again: %v", l.Job.ID, err)
		}
	}
}
