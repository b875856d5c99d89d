// Package postgres is the shared queue on PostgreSQL: any number of
// switchboard processes that open the same schema share one queue, with
// the contract of engine.Queue (engine/queuetest proves it).
//
// # Schema
//
// Everything lives in one schema (Options.Schema, "switchboard" by
// default), created and upgraded by Open. The migrations are a
// versioned list (migrations in schema.go); Open applies the missing
// ones in one transaction holding a transaction-scoped advisory lock of
// the schema, so processes starting together apply each once, and it
// refuses to run against a schema newer than it knows (ErrSchemaTooNew).
//
//	events     one row per stored event; the payload as bytea, byte for byte
//	jobs       one row per job; state 0 pending, 1 running, 2 done, 3 failed;
//	           owner is the key of the process holding its lease, started
//	           says its attempt began (Leaser.Start), attempts and
//	           last_error are jsonb
//	counts     job counts per (listener, state) and the event count, split
//	           over 16 shard rows so concurrent commits rarely wait on one
//	dedupe     md5(source, delivery id) as a uuid → the event, and when it
//	           was seen (a BRIN index: records arrive in time order)
//	listeners  per listener: paused_at, and the token bucket of its rate
//	processes  the processes using the schema and their last heartbeat
//	kv, samples, audit   the kv binding, the console's history, the audit log
//
// Partial indexes keep every hot query to the rows it needs: due pending
// jobs per listener in RunAt order, running jobs by lease end, failed jobs
// by id, done jobs by age (for pruning), pending and running jobs per
// ordering key.
//
// # Enqueue and what a 200 means
//
// Enqueue calls are group-committed: two committer goroutines each take
// every call queued since their last statement and write all of it with
// one statement (dedupe records, events, jobs and counters as one
// INSERT ... WITH chain over arrays) that commits on its own. Enqueue
// returns only after that COMMIT, so a 200 means the event and its jobs
// are committed as the server commits: durably when synchronous_commit is
// on (the default); with synchronous_commit = off a server crash can lose
// acknowledged events. At low load a batch is one event; under load
// batches grow, with no fixed wait.
//
// Dedupe is the dedupe table's primary key: a delivery whose record is
// younger than DedupeWindow loses the INSERT ... ON CONFLICT, whichever
// process sent it, and the caller gets the first event's id with
// ErrDuplicate. Records are inserted in key order, so batches racing for
// the same deliveries wait for each other rather than deadlock. MaxDepth
// is checked against the counters before each batch (no count(*)).
//
// What bounds ingest is the WAL each event costs the disk's synchronous
// writes: about 1.9 kB per event with a 1 kB payload (the event, its job
// and three index entries, the dedupe record) and another 1 kB over the
// job's life (lease, start, finish), against 1.2 kB for a bare INSERT of
// the body. Group commit removes the per-request commits; it cannot
// remove those bytes.
//
// # Leasing
//
// Lease claims due pending jobs with FOR UPDATE SKIP LOCKED, per listener
// in RunAt order, in the same statement that marks them running (owner =
// this process, lease_until = now + LeaseFor), adjusts the counters and
// returns each job with its event. A job with an ordering key is skipped
// while an older job of its listener and key is pending or running.
// Paused listeners are skipped. Listeners with a concurrency bound or a
// rate are leased in a transaction that first locks their listeners rows
// (in name order) and then counts their running jobs and refills their
// token bucket in a statement that starts after the locks are held; the
// claim and the bucket's new level commit before the locks are released,
// so the bounds hold across every process. Lease also takes back jobs
// whose lease ended (reclaimSQL), charging them as engine.Queue's
// "Charging lost attempts" says. Each lease statement stamps its jobs with
// a random token (jobs.lease_token): when its answer is lost with the
// connection, the claim may have committed with no worker holding the
// jobs, so the following Leases give that token's unstarted jobs back,
// uncharged (releaseSQL), until the lease would have ended anyway.
//
// Start and Finish are group-committed like Enqueue, by committers chosen
// by job id, so a job's Start and Finish never sit in two transactions
// that could wait for each other; a Start whose Finish is in the same
// batch is not written at all. Both are fenced by the attempt (WHERE
// state = running AND attempt = $n), and Finish appends the attempt to
// the job's attempts (the last 20 kept). Every UPDATE names its rows by
// id array, so no plan can fall back to scanning the jobs table.
//
// # Notifications
//
// Every write that makes jobs claimable wakes this process's workers at
// once (Ready) and sends a NOTIFY on the schema's channel (at most one per
// 3 ms per process, carrying the earliest RunAt). Each process LISTENs on
// a connection of its own, outside the pool. At Open the process checks
// that its own notification comes back; if it does not (a pooler such as
// PgBouncer in transaction mode forwards no notifications), or while the
// connection is down, Ready fires every PollInterval instead.
//
// # Heartbeats and dead processes
//
// Each process has a row in processes, a heartbeat every
// HeartbeatInterval (2 s), and a session-level advisory lock held by its
// LISTEN connection. A process is alive while its heartbeat is within
// HeartbeatWindow (10 s) and, if it holds a lock, the lock is still held
// or its heartbeat is within two intervals: a process killed outright
// (its connections drop, its lock with them) is dead two intervals
// after its last heartbeat; one cut off from the database is dead once
// the window passes. Within a window after the server restarted only
// heartbeats count. Processes lists the live ones. Every heartbeat also
// sweeps: running jobs of dead processes are taken back at once, their
// leases notwithstanding, and charged as crashes.
//
// # What runs in one process at a time
//
// Pruning (done jobs and events older than Retention, dedupe records
// older than DedupeWindow, expired kv entries, samples and audit entries
// older than HistoryRetention, long-gone process rows) runs every
// PruneInterval in whichever process takes the schema's prune lock (a
// transaction-scoped advisory lock, tried, not waited for); each
// transaction deletes at most 1000 rows, so no lock is held long. Schema
// migration runs under its own lock. Everything else runs in every
// process.
//
// # Faults
//
// Every call is bounded by Options.Timeout. Statements the server rolled
// back (serialization failure, deadlock) are retried; so are those that
// failed on the connection when a retry cannot apply a write twice (reads,
// fenced updates, or nothing was sent). An Enqueue whose COMMIT may or may
// not have happened is not retried: it fails with ErrUnavailable (503) and
// the sender's retry is caught by dedupe. While the database is down,
// calls fail without retrying (ErrUnavailable), Ping fails, Lease errors
// and the workers back off; everything resumes by itself when it is back.
package postgres
