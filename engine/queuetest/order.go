package queuetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var orderTests = []test{
	{"OneAtATime", testOrderOneAtATime},
	{"BackoffHolds", testOrderBackoff},
	{"FailedReleases", testOrderFailed},
	{"CreationNotRunAt", testOrderCreation},
	{"ExpiredLeaseHolds", testOrderExpired},
	{"ReturnedKeepsPlace", testOrderReturned},
	{"Workers", testOrderWorkers},
}

// keyed stores one event per job, in order, and returns the jobs' ids.
func keyed(t *testing.T, q Queue, jobs ...engine.NewJob) []string {
	t.Helper()
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = enqueueJobs(t, q, j)[0]
	}
	return ids
}

func ordered(listener, key string) engine.NewJob {
	return engine.NewJob{Listener: listener, MaxTries: 3, OrderKey: key}
}

var orderQuota = quota(10, longLease, "o", "other")

// wantLeased leases once and fails unless exactly the jobs want came back.
func wantLeased(t *testing.T, q Queue, qt map[string]engine.Quota, want ...string) []engine.Lease {
	t.Helper()
	ls := lease(t, q, 100, qt)
	got := leaseIDs(ls)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("leased %s, want %s", joined(got), joined(want))
	}
	return ls
}

// testOrderOneAtATime: of one listener's jobs with one key, only the
// oldest is claimed, and the next once it is done; other keys, unordered
// jobs and other listeners' jobs with the same key are not held back.
func testOrderOneAtATime(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := keyed(t, q, ordered("o", "k1"), ordered("o", "k1"), ordered("o", "k2"), ordered("o", ""),
		ordered("o", ""), ordered("other", "k1"), ordered("o", "k1"))
	ls := wantLeased(t, q, orderQuota, ids[0], ids[2], ids[3], ids[4], ids[5])
	wantLeased(t, q, orderQuota)
	drainReady(q)
	succeed(t, q, ls[slices.IndexFunc(ls, func(l engine.Lease) bool { return l.Job.ID == ids[0] })].Job)
	waitReady(t, q, "finishing an ordered job with a successor")
	next := wantLeased(t, q, orderQuota, ids[1])
	wantLeased(t, q, orderQuota)
	succeed(t, q, next[0].Job)
	wantLeased(t, q, orderQuota, ids[6])
}

// testOrderBackoff: a job waiting out its backoff still holds back the
// later jobs of its key.
func testOrderBackoff(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := keyed(t, q, ordered("o", "k"), ordered("o", "k"))
	first := wantLeased(t, q, orderQuota, ids[0])[0].Job
	runAt := time.Now().UTC().Add(500 * time.Millisecond)
	attempt(t, q, first, engine.Retry, runAt, "try later")
	again := leaseAt(t, q, ids[0], runAt, orderQuota).Job // fails if ids[1] comes first
	if again.Attempt != 2 {
		t.Fatalf("after backoff the first job ran as attempt %d, want 2", again.Attempt)
	}
	wantLeased(t, q, orderQuota)
	succeed(t, q, again)
	wantLeased(t, q, orderQuota, ids[1])
}

// testOrderFailed: a job that failed for good releases the next of its
// key.
func testOrderFailed(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := keyed(t, q, ordered("o", "k"), ordered("o", "k"), ordered("o", "k"))
	first := wantLeased(t, q, orderQuota, ids[0])[0].Job
	drainReady(q)
	fail(t, q, first, "gave up")
	waitReady(t, q, "failing an ordered job with a successor")
	wantLeased(t, q, orderQuota, ids[1])
}

// testOrderCreation: order is by creation, not RunAt: a later job due
// sooner waits for the earlier one.
func testOrderCreation(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	runAt := time.Now().UTC().Add(600 * time.Millisecond)
	first := ordered("o", "k")
	first.RunAt = runAt
	ids := keyed(t, q, first, ordered("o", "k"))
	j := leaseAt(t, q, ids[0], runAt, orderQuota).Job // fails if ids[1] comes first
	wantLeased(t, q, orderQuota)
	succeed(t, q, j)
	wantLeased(t, q, orderQuota, ids[1])
}

// testOrderExpired: a job whose lease ran out is taken back ahead of the
// later jobs of its key.
func testOrderExpired(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := keyed(t, q, ordered("o", "k"), ordered("o", "k"))
	first := wantLeased(t, q, quota(10, shortLease, "o"), ids[0])[0].Job
	start(t, q, first)
	again := leaseUntil(t, q, ids[0], orderQuota).Job
	if again.Attempt != 2 {
		t.Fatalf("taken back and leased as attempt %d, want 2", again.Attempt)
	}
	wantLeased(t, q, orderQuota)
}

// testOrderReturned: a job handed back unrun, or snoozed, keeps its place
// at the head of its key.
func testOrderReturned(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := keyed(t, q, ordered("o", "k"), ordered("o", "k"))
	first := wantLeased(t, q, orderQuota, ids[0])[0].Job
	attempt(t, q, first, engine.Returned, time.Now().UTC(), "")
	again := leaseUntil(t, q, ids[0], orderQuota).Job
	snoozeUntil := time.Now().UTC().Add(300 * time.Millisecond)
	attempt(t, q, again, engine.Snoozed, snoozeUntil, "")
	last := leaseAt(t, q, ids[0], snoozeUntil, orderQuota).Job
	succeed(t, q, last)
	wantLeased(t, q, orderQuota, ids[1])
}

// orderCheck follows work events and reports the first ordering
// violation: a keyed job leased while another of its key is in flight,
// or before an older one of its key.
type orderCheck struct {
	keyOf   map[string]string   // the key each ordered job was stored with
	next    map[string][]string // per key, ids not yet leased, oldest first
	running map[string]string   // per key, the job in flight
	err     error
}

func newOrderCheck(byKey map[string][]string) *orderCheck {
	c := &orderCheck{keyOf: map[string]string{}, next: byKey, running: map[string]string{}}
	for key, ids := range byKey {
		for _, id := range ids {
			c.keyOf[id] = key
		}
	}
	return c
}

func (c *orderCheck) observe(e workEvent) {
	key, ok := c.keyOf[e.job.ID]
	if !ok || c.err != nil {
		return
	}
	if e.leased && e.job.OrderKey != key {
		c.err = fmt.Errorf("job %s leased with order key %q, stored with %q", e.job.ID, e.job.OrderKey, key)
		return
	}
	if !e.leased {
		delete(c.running, key)
		return
	}
	if r, ok := c.running[key]; ok {
		c.err = fmt.Errorf("key %s: job %s leased (queue %d) while %s runs", key, e.job.ID, e.queue, r)
		return
	}
	if len(c.next[key]) == 0 || c.next[key][0] != e.job.ID {
		c.err = fmt.Errorf("key %s: job %s leased (queue %d), next in order is %s", key, e.job.ID, e.queue, joined(c.next[key]))
		return
	}
	c.next[key] = c.next[key][1:]
	c.running[key] = e.job.ID
}

// orderFixture stores keys×perKey ordered jobs, interleaved, and some
// unordered ones; it returns the ordered ids by key and the total.
func orderFixture(t *testing.T, q Queue, keys, perKey, unordered int) (map[string][]string, int) {
	t.Helper()
	byKey := map[string][]string{}
	for i := range perKey {
		for k := range keys {
			key := fmt.Sprintf("k%d", k)
			byKey[key] = append(byKey[key], keyed(t, q, ordered("o", key))...)
		}
		if i < unordered {
			keyed(t, q, ordered("o", ""))
		}
	}
	return byKey, keys*perKey + min(unordered, perKey)
}

// testOrderWorkers: many workers of one process leasing at once keep
// every key's jobs one at a time and in order.
func testOrderWorkers(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	byKey, total := orderFixture(t, q, 3, 6, 4)
	c := newOrderCheck(byKey)
	work(t, []Queue{q}, 6, quota(1, longLease, "o"), total, 3*time.Millisecond, c.observe)
	if c.err != nil {
		t.Fatal(c.err)
	}
}
