package queuetest

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var processTests = []test{
	{"Self", testProcessSelf},
	{"GoneAfterCrash", testProcessGone},
}

func processes(t *testing.T, q Queue) []engine.Process {
	t.Helper()
	ps, err := q.Processes(t.Context())
	if err != nil {
		t.Fatalf("Processes: %v", err)
	}
	return ps
}

func processIDs(ps []engine.Process) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// self returns the one process a queue nobody else uses lists, checking
// that it describes this process.
func self(t *testing.T, q Queue) engine.Process {
	t.Helper()
	ps := processes(t, q)
	if len(ps) != 1 {
		t.Fatalf("Processes = %+v, want this process alone", ps)
	}
	if err := describesUs(ps[0]); err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// describesUs checks a listed process against this test binary.
func describesUs(p engine.Process) error {
	host, _ := os.Hostname()
	now := time.Now()
	switch {
	case p.ID == "" || p.PID != os.Getpid() || p.Host != host:
		return fmt.Errorf("process %+v, want a non-empty id, pid %d, host %q", p, os.Getpid(), host)
	case p.Started.IsZero() || p.Started.After(now.Add(clockTol)):
		return fmt.Errorf("process %s started %s, after now (%s)", p.ID, p.Started, now)
	case p.Seen.Before(p.Started.Add(-clockTol)) || p.Seen.Before(now.Add(-ProcessGoneWithin)) || p.Seen.After(now.Add(clockTol)):
		return fmt.Errorf("process %s last seen %s (started %s, now %s)", p.ID, p.Seen, p.Started, now)
	}
	return nil
}

// testProcessSelf: the queue lists its own process.
func testProcessSelf(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	self(t, q)
}

// testProcessGone: after its process is killed, a queue stops listing it
// within ProcessGoneWithin and lists the new one.
func testProcessGone(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	dead := self(t, q).ID
	q = h.Crash(t, q)
	eventually(t, ProcessGoneWithin, "the killed process leaving Processes", func() error {
		ps := processes(t, q)
		if slices.Contains(processIDs(ps), dead) {
			return fmt.Errorf("still listed: %s", joined(processIDs(ps)))
		}
		if len(ps) != 1 || ps[0].ID == dead {
			return fmt.Errorf("processes %s, want the new one alone", joined(processIDs(ps)))
		}
		return describesUs(ps[0])
	})
}
