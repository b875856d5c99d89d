package admin

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// FormatListeners writes one line per listener: whether it runs or is
// paused (and since when), its jobs, and the age of its oldest due job.
func FormatListeners(w io.Writer, ls []ListenerInfo, now time.Time) error {
	if len(ls) == 0 {
		_, err := fmt.Fprintln(w, "no listeners")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "LISTENER\tSTATE\tPENDING\tRUNNING\tFAILED\tOLDEST DUE\tON")
	for _, l := range ls {
		state := "running"
		if l.Paused {
			state = "paused since " + stamp(l.PausedAt)
		}
		on := strings.Join(l.On, ",")
		if !l.Configured {
			on = "(not configured)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", line(l.Name), state,
			l.Jobs["pending"], l.Jobs["running"], l.Jobs["failed"], age(l.OldestDue, now), line(on))
	}
	return tw.Flush()
}

// FormatListener writes one listener after a pause or resume.
func FormatListener(w io.Writer, l ListenerInfo) error {
	if l.Paused {
		_, err := fmt.Fprintf(w, "%s: paused since %s; %d pending job(s) wait for resume\n",
			line(l.Name), stamp(l.PausedAt), l.Jobs["pending"])
		return err
	}
	_, err := fmt.Fprintf(w, "%s: running; %d pending job(s)\n", line(l.Name), l.Jobs["pending"])
	return err
}

// age says how long ago t was, in whole seconds; "-" for zero.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return max(now.Sub(t), 0).Truncate(time.Second).String()
}

// FormatAudit writes audit entries, newest first as listed.
func FormatAudit(w io.Writer, entries []engine.AuditEntry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "no operator actions recorded")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "AT\tACTION\tTARGET\tCOUNT\tACTOR")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", stamp(e.At), line(e.Action), cell(e.Target), e.Count, cell(e.Actor))
	}
	return tw.Flush()
}

// FormatProcesses writes the switchboard processes that share the queue,
// as their heartbeats report them.
func FormatProcesses(w io.Writer, ps []engine.Process, now time.Time) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "no process has a heartbeat (is the server running?)")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "PROCESS\tHOST\tPID\tSTARTED\tLAST HEARTBEAT")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s ago\n", line(p.ID), line(p.Host), p.PID, stamp(p.Started), age(p.Seen, now))
	}
	return tw.Flush()
}
