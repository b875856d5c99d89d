// Package store is switchboard's embedded, durable job queue: events, jobs,
// dedupe records, listener key/value data, pause state, per-minute history
// and the audit list in one bbolt file, written by a single
// group-committing goroutine. It implements engine.Queue for one process
// (bbolt locks the file); engine/queuetest is its contract.
//
// # Layout
//
// Every bucket and its keys are listed in keys.go. Keys that start with a
// tkey (8 bytes of big-endian nanoseconds) sort by time, and ids
// ("evt_"/"job_" + 16 hex digits of a sequence) sort by creation, so the
// hot paths are prefix and range scans:
//
//	events, evtime, evjobs   an event, its time index, its jobs
//	jobs                     job id → binary record (jobcodec.go)
//	duel/<listener>          tkey(run at, id): pending jobs due by time
//	lease                    tkey(lease until, id) → start time once started
//	done, state/failed       finished jobs by time; failed jobs by id
//	order, orderr, orderd    per-key ordering (order.go)
//	counts                   per-state and per-listener counters
//	dedupe, dedupet          delivery ids seen, and their time index
//	kv, kvexp                listener key/value data, and expiry index
//	paused, hist, audit      the console's state (console.go)
//
// Every job write goes through putJob, which moves the job between the
// indexes and counters of its old and new state, so they cannot drift.
//
// # Writes
//
// All writes are ops sent to one committer goroutine (commit.go). It takes
// everything queued since its last commit (up to maxBatch), applies the
// ops in one bbolt transaction and fsyncs once: one fsync's latency at low
// load, large batches at high load, no fixed window. A batch of only
// background writes (leases, outcomes, pruning) may wait up to holdFor for
// an ingest request to share its fsync. An op that fails before writing is
// answered with its error and the batch commits; one that fails after
// writing (or panics) is answered and the batch is replayed without it, so
// ops must derive everything from the transaction and their inputs. A
// commit that fails (a full disk) answers every op in it with an error
// wrapping engine.ErrUnavailable and leaves the file as it was; the queue
// stays usable and Ping reports it unwritable for a while (health.go).
//
// # A job's life
//
// Enqueue writes an event and its jobs pending. Lease claims due pending
// jobs within the caller's quota, the listener's concurrency and rate,
// pause and ordering; a claimed job is running with Attempt incremented.
// Workers lease ahead, so a claim may wait in a worker's buffer: Start
// marks the attempt begun (the lease index value becomes its start time).
// Finish records the outcome, fenced by the attempt number, and appends
// it to the job's attempts. A lease that ends before Finish is taken back
// on the next Lease: unstarted, the attempt is given back; started, it is
// charged (kind lease). When the file is opened after a process died,
// every running job is taken back the same way but charged as a crash;
// after CrashLimit crashes the job is failed, and an unstarted one is
// marked Suspect so its next start is made durable before it runs.
// Recovery goes through the committer; if the disk refuses it, Open
// still succeeds and recovery is retried, with nothing leased meanwhile.
//
// # Retention
//
// Prune (run periodically) deletes done jobs older than Retention, events
// without jobs left, dedupe records past the window, expired kv entries,
// and history and audit entries past HistoryRetention, in chunks that
// hold the writer briefly. Failed jobs stay until retried or forgotten.
// Freed pages are reused; the file does not shrink.
package store
