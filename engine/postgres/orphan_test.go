package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// TestLease_LostAnswerGivenBack: a lease statement that committed but
// whose answer never arrived (here: the leases are dropped, as a lost
// connection would) leaves jobs running under this process that no
// worker holds. The next Lease gives them back, uncharged, and claims
// them again, instead of leaving them until their hour-long lease ends.
// It holds for plain and for concurrency-bounded listeners.
func TestLease_LostAnswerGivenBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		quota engine.Quota
	}{
		{"plain", engine.Quota{Max: 10, LeaseFor: time.Hour}},
		{"bounded", engine.Quota{Max: 10, LeaseFor: time.Hour, Concurrency: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := openTest(t, Options{})
			ctx := context.Background()
			for i := range 3 {
				ev := &engine.Event{Name: "e", Source: "s", DeliveryID: fmt.Sprint(i), ReceivedAt: time.Now(), Payload: []byte(`{}`)}
				if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a", MaxTries: 3}}); err != nil {
					t.Fatal(err)
				}
			}
			quota := map[string]engine.Quota{"a": tc.quota}
			plain, bounded := []string{"a"}, []string(nil)
			if tc.quota.Concurrency > 0 {
				plain, bounded = nil, []string{"a"}
			}
			const token = 42
			lost, err := q.leaseOnce(ctx, token, 10, quota, plain, bounded)
			if err != nil || len(lost) != 3 {
				t.Fatalf("first lease = %d, %v; want 3", len(lost), err)
			}
			q.orphaned(token, time.Now().Add(time.Hour)) // what Lease does when the answer does not arrive

			again, err := q.Lease(ctx, 10, quota)
			if err != nil || len(again) != 3 {
				t.Fatalf("lease after the lost answer = %d, %v; want the same 3 jobs again", len(again), err)
			}
			for _, l := range again {
				if l.Job.Attempt != 1 || l.Job.Crashes != 0 || l.Job.LastError != nil {
					t.Fatalf("job %s leased again as %+v; want attempt 1, no crash, no error (the lost lease is not charged)", l.Job.ID, l.Job)
				}
			}
			st, err := q.Stats(ctx)
			if err != nil || st.States[engine.JobRunning] != 3 || st.States[engine.JobPending] != 0 {
				t.Fatalf("stats %+v, %v; want 3 running, 0 pending", st.States, err)
			}
			// Released again on later leases (the statement might commit
			// late), without touching the jobs now held by a worker.
			if more, err := q.Lease(ctx, 10, quota); err != nil || len(more) != 0 {
				t.Fatalf("third lease = %d, %v; want nothing (the jobs are held)", len(more), err)
			}
			for _, l := range again {
				if err := q.Start(ctx, l.Job.ID, l.Job.Attempt); err != nil {
					t.Fatalf("start %s: %v", l.Job.ID, err)
				}
			}
		})
	}
}
