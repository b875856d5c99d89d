package queuetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

var jobTests = []test{
	{"Filters", testJobsFilters},
	{"ListenerBeyondFirstPage", testJobsListenerBeyondPage},
	{"StateBeyondFirstPage", testJobsStateBeyondPage},
	{"NewestAndPaging", testJobsNewest},
	{"Limits", testJobsLimits},
	{"GetUnknown", testJobsGetUnknown},
}

func listJobs(t *testing.T, q Queue, qry engine.JobQuery) []string {
	t.Helper()
	jobs, err := q.ListJobs(t.Context(), qry)
	if err != nil {
		t.Fatalf("ListJobs(%+v): %v", qry, err)
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
		if (qry.State != "" && j.State != qry.State) || (qry.Listener != "" && j.Listener != qry.Listener) ||
			(qry.EventID != "" && j.EventID != qry.EventID) {
			t.Fatalf("ListJobs(%+v) returned job %+v, which the query does not select", qry, j)
		}
	}
	return ids
}

func wantJobs(t *testing.T, q Queue, qry engine.JobQuery, want []string) {
	t.Helper()
	if got := listJobs(t, q, qry); !slices.Equal(got, want) {
		t.Fatalf("ListJobs(%+v) = %s, want %s", qry, joined(got), joined(want))
	}
}

// failedFixture stores jobs of a and b on two events and fails b's jobs
// with the given messages; it returns the ids of a's jobs and b's.
func failedFixture(t *testing.T, q Queue, msgs ...string) (as, bs []string) {
	t.Helper()
	e1 := enqueueJobs(t, q, jobsFor("a", "a")...)
	var bj []engine.NewJob
	for range msgs {
		bj = append(bj, engine.NewJob{Listener: "b", MaxTries: 1})
	}
	e2 := enqueueJobs(t, q, append(bj, jobsFor("a")...)...)
	as, bs = slices.Concat(e1, e2[len(msgs):]), e2[:len(msgs)]
	held := leaseN(t, q, "b", len(bs))
	for i, id := range bs {
		fail(t, q, held[id], msgs[i])
	}
	return as, bs
}

// testJobsFilters: State, Listener, EventID and ErrorContains select jobs,
// and combine.
func testJobsFilters(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	as, bs := failedFixture(t, q, "Upstream TIMEOUT after 30s", "db: connection refused", "timeout again")
	running := leaseUntil(t, q, as[0], quota(1, longLease, "a")).Job
	ev := getJob(t, q, bs[0]).EventID
	wantJobs(t, q, engine.JobQuery{}, slices.Concat(as[:2], bs, as[2:]))
	wantJobs(t, q, engine.JobQuery{Listener: "a"}, as)
	wantJobs(t, q, engine.JobQuery{State: engine.JobFailed}, bs)
	wantJobs(t, q, engine.JobQuery{State: engine.JobRunning}, []string{running.ID})
	wantJobs(t, q, engine.JobQuery{State: engine.JobPending}, as[1:])
	wantJobs(t, q, engine.JobQuery{State: engine.JobPending, Listener: "b"}, nil)
	wantJobs(t, q, engine.JobQuery{EventID: ev}, slices.Concat(bs, as[2:]))
	wantJobs(t, q, engine.JobQuery{EventID: ev, Listener: "a"}, as[2:])
	wantJobs(t, q, engine.JobQuery{ErrorContains: "timeout"}, []string{bs[0], bs[2]})
	wantJobs(t, q, engine.JobQuery{ErrorContains: "CONNECTION"}, bs[1:2])
	wantJobs(t, q, engine.JobQuery{ErrorContains: "timeout", State: engine.JobFailed, Listener: "b", Limit: 1}, bs[:1])
	wantJobs(t, q, engine.JobQuery{ErrorContains: "no such text"}, nil)
	succeed(t, q, running)
	wantJobs(t, q, engine.JobQuery{State: engine.JobDone}, []string{running.ID})
	j := getJob(t, q, running.ID)
	if j.State != engine.JobDone || j.Listener != "a" || j.Attempt != 1 || len(j.Attempts) != 1 {
		t.Fatalf("GetJob = %+v, want the done job with its attempt", j)
	}
}

// manyThenFew stores many jobs of "many" and then few of "few".
func manyThenFew(t *testing.T, q Queue, many, few int) []string {
	t.Helper()
	jobs := make([]engine.NewJob, 0, many+few)
	for range many {
		jobs = append(jobs, engine.NewJob{Listener: "many", MaxTries: 1})
	}
	for range few {
		jobs = append(jobs, engine.NewJob{Listener: "few", MaxTries: 1})
	}
	return enqueueJobs(t, q, jobs...)[many:]
}

// testJobsListenerBeyondPage: a listener filter finds jobs that come after
// more than a page of other listeners' jobs, and pages through them.
func testJobsListenerBeyondPage(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	few := manyThenFew(t, q, 1200, 3)
	wantJobs(t, q, engine.JobQuery{Listener: "few", Limit: 2}, few[:2])
	wantJobs(t, q, engine.JobQuery{Listener: "few", Limit: 2, After: few[1]}, few[2:])
	wantJobs(t, q, engine.JobQuery{Listener: "few", Limit: 2, After: few[2]}, nil)
	wantJobs(t, q, engine.JobQuery{Listener: "few", State: engine.JobPending}, few)
}

// testJobsStateBeyondPage: a state filter finds jobs beyond a page of
// jobs in other states.
func testJobsStateBeyondPage(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	few := manyThenFew(t, q, 1200, 3)
	for _, j := range leaseN(t, q, "few", len(few)) {
		fail(t, q, j, "broken")
	}
	wantJobs(t, q, engine.JobQuery{State: engine.JobFailed, Limit: 2}, few[:2])
	wantJobs(t, q, engine.JobQuery{State: engine.JobFailed, Limit: 2, After: few[1]}, few[2:])
	wantJobs(t, q, engine.JobQuery{State: engine.JobFailed, Newest: true, Limit: 1}, few[2:])
	wantJobs(t, q, engine.JobQuery{ErrorContains: "BROKEN", Limit: 5}, few)
}

// testJobsNewest: Newest lists by descending id, and After continues in
// that order.
func testJobsNewest(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	var ids []string
	for range 5 {
		ids = append(ids, enqueueJobs(t, q, jobsFor("a")...)...)
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	wantJobs(t, q, engine.JobQuery{Newest: true}, rev)
	wantJobs(t, q, engine.JobQuery{Newest: true, Limit: 2}, rev[:2])
	wantJobs(t, q, engine.JobQuery{Newest: true, Limit: 2, After: rev[1]}, rev[2:4])
	wantJobs(t, q, engine.JobQuery{Limit: 2, After: ids[1]}, ids[2:4])
	wantJobs(t, q, engine.JobQuery{Newest: true, Listener: "a", After: rev[3]}, rev[4:])
}

// testJobsLimits: a listing holds engine.DefaultPageSize jobs by default
// and engine.MaxPageSize at most.
func testJobsLimits(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	jobs := make([]engine.NewJob, engine.MaxPageSize+1)
	for i := range jobs {
		jobs[i] = engine.NewJob{Listener: "a", MaxTries: 1}
	}
	ids := enqueueJobs(t, q, jobs...)
	wantJobs(t, q, engine.JobQuery{}, ids[:engine.DefaultPageSize])
	wantJobs(t, q, engine.JobQuery{Limit: 5 * engine.MaxPageSize}, ids[:engine.MaxPageSize])
	wantJobs(t, q, engine.JobQuery{Limit: engine.MaxPageSize, After: ids[engine.MaxPageSize-1]}, ids[engine.MaxPageSize:])
}

// testJobsGetUnknown: GetJob of an unknown id is ErrNotFound.
func testJobsGetUnknown(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	for _, id := range []string{"no-such-job", ids[0] + "0", "0", ""} {
		_, err := q.GetJob(t.Context(), id)
		wantErr(t, fmt.Sprintf("GetJob(%q)", id), err, engine.ErrNotFound)
	}
}
