package scripttest

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is a test's outcome.
type Status string

// The outcomes of a test.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the outcome of one test, or of a whole file that could not be
// compiled or whose top level threw (then Name is empty).
type Result struct {
	File   string // the test file as given, relative to the working directory when below it
	Name   string // the test's name, "describe > test" when nested
	Status Status
	// Message says why the test failed: the assertion ("expected 2 to be
	// 1"), the uncaught error, or the compile error.
	Message string
	// Location is the original file:line:col of the failure in the test
	// code, when known.
	Location string
	// Stack is the JS stack of an uncaught error (not of assertions).
	Stack string
	// Output holds what the test and the listeners it ran logged.
	Output  string
	Elapsed time.Duration
}

// Report is the outcome of a test run.
type Report struct {
	Results                 []Result
	Passed, Failed, Skipped int
}

// OK reports whether no test failed.
func (r *Report) OK() bool { return r.Failed == 0 }

func (r *Report) add(res Result) {
	r.Results = append(r.Results, res)
	switch res.Status {
	case Pass:
		r.Passed++
	case Fail:
		r.Failed++
	case Skip:
		r.Skipped++
	}
}

// TextReporter prints results as lines of text:
//
//	ok   scripts/notify_user.test.js: mails the owner (2ms)
//	FAIL scripts/notify_user.test.js: skips failures (1ms)
//	     scripts/notify_user.test.js:31:5: expected 1 to be 0
//
// and, from Summary, a final line "N passed, N failed".
type TextReporter struct {
	W io.Writer
	// Verbose also prints the output of passing tests.
	Verbose bool
}

// Result prints one result.
func (t TextReporter) Result(r Result) {
	name := r.File
	if r.Name != "" {
		name += ": " + r.Name
	}
	switch r.Status {
	case Pass:
		fmt.Fprintf(t.W, "ok   %s (%s)\n", name, round(r.Elapsed))
	case Skip:
		fmt.Fprintf(t.W, "skip %s\n", name)
	case Fail:
		fmt.Fprintf(t.W, "FAIL %s (%s)\n", name, round(r.Elapsed))
		msg := r.Message
		if r.Location != "" && !strings.HasPrefix(msg, r.Location) {
			msg = r.Location + ": " + msg
		}
		writeIndented(t.W, msg)
		if r.Stack != "" {
			writeIndented(t.W, r.Stack)
		}
	}
	if r.Output != "" && (r.Status == Fail || t.Verbose) {
		writeIndented(t.W, strings.TrimRight(r.Output, "\n"))
	}
}

// Summary prints the skipped count, if any, then "N passed, N failed"
// alone on the last line.
func (t TextReporter) Summary(rep *Report) {
	if rep.Skipped > 0 {
		fmt.Fprintf(t.W, "%d skipped\n", rep.Skipped)
	}
	fmt.Fprintf(t.W, "%d passed, %d failed\n", rep.Passed, rep.Failed)
}

// WriteText prints every result of rep and the summary.
func (rep *Report) WriteText(w io.Writer, verbose bool) {
	t := TextReporter{W: w, Verbose: verbose}
	for _, r := range rep.Results {
		t.Result(r)
	}
	t.Summary(rep)
}

func writeIndented(w io.Writer, text string) {
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "     %s\n", strings.TrimLeft(line, "\t"))
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
