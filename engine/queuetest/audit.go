package queuetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var auditTests = []test{
	{"NewestFirstPaging", testAuditPaging},
}

// testAuditPaging: entries come back newest first, whatever order they
// were written in, limit at a time, before pages back; every field is
// kept.
func testAuditPaging(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	entries := make([]engine.AuditEntry, 5)
	for i := range entries {
		entries[i] = engine.AuditEntry{
			At: base.Add(time.Duration(i) * time.Second), Action: []string{"retry", "forget", "flush", "pause", "replay"}[i],
			Target: fmt.Sprintf("target-%d", i), Count: i * 10, Actor: "127.0.0.1:5555", Detail: fmt.Sprintf("detail ✓ %d", i),
		}
	}
	for _, i := range []int{2, 0, 4, 1, 3} {
		if err := q.Audit(t.Context(), entries[i]); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	check := func(limit int, before time.Time, want ...int) {
		t.Helper()
		got, err := q.ListAudit(t.Context(), limit, before)
		if err != nil {
			t.Fatalf("ListAudit(%d, %s): %v", limit, before, err)
		}
		if len(got) != len(want) {
			t.Fatalf("ListAudit(%d, %s) = %d entries %+v, want entries %v", limit, before, len(got), got, want)
		}
		for k, i := range want {
			g, w := got[k], entries[i]
			if !near(g.At, w.At, callerTol) || g.Action != w.Action || g.Target != w.Target || g.Count != w.Count ||
				g.Actor != w.Actor || g.Detail != w.Detail {
				t.Fatalf("ListAudit(%d, %s)[%d] = %+v, want %+v", limit, before, k, g, w)
			}
		}
	}
	check(2, time.Time{}, 4, 3)
	check(2, entries[3].At, 2, 1)
	check(10, entries[1].At, 0)
	check(10, entries[0].At)
	check(10, time.Time{}, 4, 3, 2, 1, 0)
	check(0, time.Time{}, 4, 3, 2, 1, 0) // engine.DefaultPageSize
}
