package admin

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/switchboard/switchboard/engine"
)

// Text helpers for the CLI. Every value that can come from a webhook or a
// script (names, messages, stacks, payloads) is cleaned of control
// characters first, so a hostile payload cannot drive the operator's
// terminal with escape sequences.

// cellWidth bounds a message shown in a table cell.
const cellWidth = 60

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// FormatJobs writes jobs as an aligned table, one line each.
func FormatJobs(w io.Writer, jobs []engine.Job) error {
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(w, "no jobs")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "JOB\tSTATE\tLISTENER\tEVENT\tTRIES\tUPDATED\tERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n",
			line(j.ID), j.State, line(j.Listener), line(j.EventID), j.Attempt, j.MaxTries,
			stamp(j.UpdatedAt), cell(errorLine(j.LastError)))
	}
	return tw.Flush()
}

// FormatJob writes one job in full, with its last error and stack.
func FormatJob(w io.Writer, j *engine.Job) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "job:\t%s\n", line(j.ID))
	fmt.Fprintf(tw, "event:\t%s\n", line(j.EventID))
	fmt.Fprintf(tw, "listener:\t%s\n", line(j.Listener))
	fmt.Fprintf(tw, "state:\t%s\n", j.State)
	fmt.Fprintf(tw, "attempt:\t%d of %d\n", j.Attempt, j.MaxTries)
	if j.Crashes > 0 {
		fmt.Fprintf(tw, "crashes:\t%d\n", j.Crashes)
	}
	if j.OrderKey != "" {
		fmt.Fprintf(tw, "order key:\t%s\n", line(j.OrderKey))
	}
	fmt.Fprintf(tw, "run at:\t%s\n", stamp(j.RunAt))
	fmt.Fprintf(tw, "created:\t%s\n", stamp(j.CreatedAt))
	fmt.Fprintf(tw, "updated:\t%s\n", stamp(j.UpdatedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := formatAttempts(w, j.Attempts); err != nil {
		return err
	}
	if e := j.LastError; e != nil {
		fmt.Fprintf(w, "\nlast error (attempt %d, %s, %s):\n  %s\n", e.Attempt, line(string(e.Kind)), stamp(e.At),
			strings.ReplaceAll(text(e.Message), "\n", "\n  "))
		if e.Stack != "" {
			fmt.Fprintf(w, "stack:\n  %s\n", strings.ReplaceAll(text(strings.TrimRight(e.Stack, "\n")), "\n", "\n  "))
		}
	}
	return nil
}

// formatAttempts writes a job's attempts as a table, oldest first.
func formatAttempts(w io.Writer, attempts []engine.Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nattempts:")
	tw := newTable(w)
	fmt.Fprintln(tw, "  #\tSTARTED\tTOOK\tOUTCOME\tERROR")
	for _, a := range attempts {
		msg := ""
		if a.Error != nil {
			msg = string(a.Error.Kind) + ": " + a.Error.Message
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", a.N, stamp(a.StartedAt), a.Duration.Round(time.Microsecond),
			a.Outcome, line(truncate(100, msg)))
	}
	return tw.Flush()
}

// FormatEvents writes events as an aligned table, one line each.
func FormatEvents(w io.Writer, events []engine.Event) error {
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "no events")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "EVENT\tNAME\tSOURCE\tRECEIVED\tBYTES\tPARENT")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n",
			line(e.ID), line(e.Name), line(e.Source), stamp(e.ReceivedAt), len(e.Payload), orDash(line(e.Parent)))
	}
	return tw.Flush()
}

// FormatEvent writes one event with its payload and its jobs.
func FormatEvent(w io.Writer, ev *engine.Event, jobs []engine.Job) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "event:\t%s\n", line(ev.ID))
	fmt.Fprintf(tw, "name:\t%s\n", line(ev.Name))
	fmt.Fprintf(tw, "source:\t%s\n", line(ev.Source))
	if ev.DeliveryID != "" {
		fmt.Fprintf(tw, "delivery:\t%s\n", line(ev.DeliveryID))
	}
	if ev.Parent != "" {
		fmt.Fprintf(tw, "parent:\t%s\n", line(ev.Parent))
	}
	fmt.Fprintf(tw, "received:\t%s\n", stamp(ev.ReceivedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "payload:\n  %s\n\n", strings.ReplaceAll(text(string(ev.Payload)), "\n", "\n  "))
	return FormatJobs(w, jobs)
}

// FormatStats writes queue counts, per-listener counts and the reload
// status.
func FormatStats(w io.Writer, r StatsReport) error {
	st := r.Stats
	tw := newTable(w)
	fmt.Fprintln(tw, "PENDING\tRUNNING\tDONE\tFAILED\tEVENTS\tOLDEST DUE\tFILE")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\t%s\n",
		st.States[engine.JobPending], st.States[engine.JobRunning], st.States[engine.JobDone], st.States[engine.JobFailed],
		st.Events, stamp(st.OldestDue), fmtBytes(st.FileBytes))
	fmt.Fprintf(tw, "\nsince start:\t%d enqueued, %d finished, %d failed\n", st.Enqueued, st.Finished, st.FailedTotal)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "LISTENER\tPENDING\tRUNNING\tDONE\tFAILED\tON\tTRIES\tTIMEOUT")
	listed := map[string]bool{}
	for _, l := range r.Listeners {
		listed[l.Name] = true
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\n", line(l.Name),
			l.Jobs["pending"], l.Jobs["running"], l.Jobs["done"], l.Jobs["failed"],
			line(strings.Join(l.On, ",")), l.Tries, l.Timeout)
	}
	// Jobs of listeners no longer configured still sit in the queue.
	var gone []string
	for name := range st.Listeners {
		if !listed[name] {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		c := st.Listeners[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t(not configured)\t\t\n", line(name),
			c[engine.JobPending], c[engine.JobRunning], c[engine.JobDone], c[engine.JobFailed])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return formatReload(w, r.Reload)
}

func formatReload(w io.Writer, rs ReloadStatus) error {
	var err error
	switch {
	case rs.At.IsZero():
		_, err = fmt.Fprintln(w, "\nreload: none yet")
	case rs.OK:
		_, err = fmt.Fprintf(w, "\nreload: applied %s, %d listener(s)\n", stamp(rs.At), len(rs.Listeners))
	default:
		_, err = fmt.Fprintf(w, "\nreload: REFUSED %s (the last good version keeps serving):\n  %s\n",
			stamp(rs.At), strings.ReplaceAll(text(rs.Error), "\n", "\n  "))
	}
	if err == nil && len(rs.NeedsRestart) > 0 {
		_, err = fmt.Fprintf(w, "needs restart: %s\n", line(strings.Join(rs.NeedsRestart, ", ")))
	}
	return err
}

func errorLine(e *engine.JobError) string {
	if e == nil {
		return "-"
	}
	msg, _, _ := strings.Cut(e.Message, "\n")
	return string(e.Kind) + ": " + msg
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// text makes untrusted multi-line text safe for a terminal: newlines and
// tabs stay, every other control or invisible formatting character is
// shown as an escape.
func text(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// line is text for one table cell: newlines and tabs escaped too, since
// either would break the table.
func line(s string) string {
	s = text(s)
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}

// cell is line cut to cellWidth runes.
func cell(s string) string { return truncate(cellWidth, line(s)) }
