package queuetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

var failedTests = []test{
	{"RetryJob", testRetryJob},
	{"ForgetJob", testForgetJob},
	{"OnlyFailed", testOnlyFailed},
	{"RetryFailedFilter", testRetryFailed},
	{"FlushFailedFilter", testFlushFailed},
}

// testRetryJob: a failed job retried is pending and due now with fresh
// tries; its history is kept; Ready says it may run.
func testRetryJob(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	fail(t, q, leaseA(t, q), "gave up")
	failed := getJob(t, q, ids[0])
	drainReady(q)
	if err := q.RetryJob(t.Context(), ids[0]); err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	waitReady(t, q, "RetryJob")
	j := wantState(t, q, ids[0], engine.JobPending)
	if j.Attempt != 0 || j.Crashes != 0 || len(j.Attempts) != 1 {
		t.Fatalf("retried job = attempt %d, crashes %d, %d attempts recorded; want 0, 0 and the failed one kept",
			j.Attempt, j.Crashes, len(j.Attempts))
	}
	if err := sameError(j.LastError, failed.LastError); err != nil {
		t.Fatalf("retried job's last error: %v (it is kept)", err)
	}
	again := leaseUntil(t, q, ids[0], quota(1, longLease, "a")).Job
	if again.Attempt != 1 {
		t.Fatalf("retried job leased as attempt %d, want 1 (fresh tries)", again.Attempt)
	}
	succeed(t, q, again)
	if j := wantState(t, q, ids[0], engine.JobDone); len(j.Attempts) != 2 || j.LastError != nil {
		t.Fatalf("done after retry: %d attempts, last error %+v; want 2 and none", len(j.Attempts), j.LastError)
	}
}

// testForgetJob: a failed job forgotten is gone, from its event too.
func testForgetJob(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1}, engine.NewJob{Listener: "b", MaxTries: 1})
	fail(t, q, leaseA(t, q), "gave up")
	if err := q.ForgetJob(t.Context(), ids[0]); err != nil {
		t.Fatalf("ForgetJob: %v", err)
	}
	_, err := q.GetJob(t.Context(), ids[0])
	wantErr(t, "GetJob of a forgotten job", err, engine.ErrNotFound)
	ev := getJob(t, q, ids[1]).EventID
	if _, jobs := getEvent(t, q, ev); len(jobs) != 1 || jobs[0].ID != ids[1] {
		t.Fatalf("event jobs after forget = %+v, want only %s", jobs, ids[1])
	}
	wantErr(t, "ForgetJob twice", q.ForgetJob(t.Context(), ids[0]), engine.ErrNotFound)
	wantErr(t, "RetryJob of a forgotten job", q.RetryJob(t.Context(), ids[0]), engine.ErrNotFound)
	wantJobs(t, q, engine.JobQuery{State: engine.JobFailed}, nil)
}

// testOnlyFailed: retrying or forgetting a job that has not failed is a
// conflict and changes nothing; an unknown one is ErrNotFound.
func testOnlyFailed(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("pending", "running", "done")...)
	running := leaseN(t, q, "running", 1)[ids[1]]
	succeed(t, q, leaseN(t, q, "done", 1)[ids[2]])
	states := []engine.JobState{engine.JobPending, engine.JobRunning, engine.JobDone}
	for i, id := range ids {
		wantErr(t, fmt.Sprintf("RetryJob of a %s job", states[i]), q.RetryJob(t.Context(), id), engine.ErrConflict)
		wantErr(t, fmt.Sprintf("ForgetJob of a %s job", states[i]), q.ForgetJob(t.Context(), id), engine.ErrConflict)
		wantState(t, q, id, states[i])
	}
	if j := getJob(t, q, ids[1]); j.Attempt != running.Attempt {
		t.Fatalf("a refused retry changed the running job's attempt to %d", j.Attempt)
	}
	for _, id := range []string{"no-such-job", ids[2] + "0"} {
		wantErr(t, "RetryJob of an unknown job", q.RetryJob(t.Context(), id), engine.ErrNotFound)
		wantErr(t, "ForgetJob of an unknown job", q.ForgetJob(t.Context(), id), engine.ErrNotFound)
	}
}

// bulkFixture fails jobs of a and b with different errors, and leaves a
// pending and a done job besides; it returns the failed ids by
// "listener/error".
func bulkFixture(t *testing.T, q Queue) map[string][]string {
	t.Helper()
	plan := []struct{ listener, msg string }{
		{"a", "DB down"}, {"a", "db down again"}, {"a", "http 500"}, {"b", "db down"}, {"b", "http 502"},
	}
	var jobs []engine.NewJob
	for _, p := range plan {
		jobs = append(jobs, engine.NewJob{Listener: p.listener, MaxTries: 1})
	}
	ids := enqueueJobs(t, q, append(jobs, jobsFor("a", "c")...)...)
	held := leaseN(t, q, "a", 4)
	for id, j := range leaseN(t, q, "b", 2) {
		held[id] = j
	}
	out := map[string][]string{}
	for i, p := range plan {
		fail(t, q, held[ids[i]], p.msg)
		out[p.listener+"/"+p.msg] = append(out[p.listener+"/"+p.msg], ids[i])
	}
	for _, id := range ids[len(plan):] {
		if j, ok := held[id]; ok {
			succeed(t, q, j) // a's fourth lease: done, not failed
		}
	}
	return out
}

func failedIDs(t *testing.T, q Queue) []string {
	t.Helper()
	ids := listJobs(t, q, engine.JobQuery{State: engine.JobFailed, Limit: engine.MaxPageSize})
	slices.Sort(ids)
	return ids
}

func sortedUnion(lists ...[]string) []string {
	out := slices.Concat(lists...)
	slices.Sort(out)
	return out
}

// testRetryFailed: RetryFailed retries the failed jobs its filter selects
// (listener, error text in any case) and no others.
func testRetryFailed(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	f := bulkFixture(t, q)
	n, err := q.RetryFailed(t.Context(), engine.JobFilter{Listener: "a", ErrorContains: "db DOWN"})
	if err != nil || n != 2 {
		t.Fatalf("RetryFailed(a, db down) = %d, %v; want 2", n, err)
	}
	for _, id := range sortedUnion(f["a/DB down"], f["a/db down again"]) {
		if j := wantState(t, q, id, engine.JobPending); j.Attempt != 0 {
			t.Fatalf("bulk-retried job attempt %d, want 0", j.Attempt)
		}
	}
	want := sortedUnion(f["a/http 500"], f["b/db down"], f["b/http 502"])
	if got := failedIDs(t, q); !slices.Equal(got, want) {
		t.Fatalf("failed after RetryFailed = %s, want %s", joined(got), joined(want))
	}
	if n, err := q.RetryFailed(t.Context(), engine.JobFilter{ErrorContains: "HTTP"}); err != nil || n != 2 {
		t.Fatalf("RetryFailed(http) = %d, %v; want 2", n, err)
	}
	if n, err := q.RetryFailed(t.Context(), engine.JobFilter{}); err != nil || n != 1 {
		t.Fatalf("RetryFailed(all) = %d, %v; want the 1 left", n, err)
	}
	if n, err := q.RetryFailed(t.Context(), engine.JobFilter{}); err != nil || n != 0 {
		t.Fatalf("RetryFailed with none failed = %d, %v; want 0", n, err)
	}
}

// testFlushFailed: FlushFailed deletes the failed jobs its filter selects
// and nothing else.
func testFlushFailed(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	f := bulkFixture(t, q)
	total := len(listJobs(t, q, engine.JobQuery{Limit: engine.MaxPageSize}))
	n, err := q.FlushFailed(t.Context(), engine.JobFilter{ErrorContains: "HTTP 5"})
	if err != nil || n != 2 {
		t.Fatalf("FlushFailed(http 5) = %d, %v; want 2", n, err)
	}
	for _, id := range sortedUnion(f["a/http 500"], f["b/http 502"]) {
		_, err := q.GetJob(t.Context(), id)
		wantErr(t, "GetJob of a flushed job", err, engine.ErrNotFound)
	}
	if n, err := q.FlushFailed(t.Context(), engine.JobFilter{Listener: "b"}); err != nil || n != 1 {
		t.Fatalf("FlushFailed(b) = %d, %v; want 1", n, err)
	}
	want := sortedUnion(f["a/DB down"], f["a/db down again"])
	if got := failedIDs(t, q); !slices.Equal(got, want) {
		t.Fatalf("failed after two flushes = %s, want %s", joined(got), joined(want))
	}
	if n, err := q.FlushFailed(t.Context(), engine.JobFilter{}); err != nil || n != 2 {
		t.Fatalf("FlushFailed(all) = %d, %v; want 2", n, err)
	}
	if left := len(listJobs(t, q, engine.JobQuery{Limit: engine.MaxPageSize})); left != total-5 {
		t.Fatalf("%d jobs left after flushing 5 of %d; flushing touched other jobs", left, total)
	}
}
