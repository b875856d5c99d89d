package queuetest

import "testing"

// Run runs the whole conformance suite against the backend h opens. Each
// test opens its own queues, so the tests run in parallel; the ones that
// need a second process (Harness.Peer) skip when the backend has none.
func Run(t *testing.T, h Harness) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Enqueue", enqueueTests},
		{"Lease", leaseTests},
		{"Limits", limitTests},
		{"Fence", fenceTests},
		{"Outcome", outcomeTests},
		{"Expire", expireTests},
		{"Crash", crashTests},
		{"Events", eventTests},
		{"Jobs", jobTests},
		{"Failed", failedTests},
		{"Stats", statsTests},
		{"Retention", retentionTests},
		{"KV", kvTests},
		{"History", historyTests},
		{"Audit", auditTests},
		{"Process", processTests},
		{"Order", orderTests},
		{"Cluster", clusterTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, h)
				})
			}
		})
	}
}

// test is one named conformance test.
type test struct {
	name string
	run  func(t *testing.T, h Harness)
}

// peer returns a second process's queue over q's storage, or skips the
// test when the backend serves one process only.
func peer(t *testing.T, h Harness, q Queue) Queue {
	t.Helper()
	p := h.Peer(t, q)
	if p == nil {
		t.Skip("the backend serves one process only (Harness.Peer is nil)")
	}
	return p
}
