// Package worker runs jobs: a dispatcher leases due jobs from the queue
// within each listener's concurrency and rate limits, a fixed set of
// worker goroutines run them through a Runner (the script engine), and
// each attempt's outcome goes back to the queue as done, retry (after the
// listener's backoff), snoozed, or failed.
//
// Shutdown is in two steps: Stop stops leasing and lets running jobs
// finish until its context ends, then interrupts them; an interrupted job
// is snoozed (not charged an attempt) so it runs again after restart.
package worker
