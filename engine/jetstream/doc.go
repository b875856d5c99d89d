// Package jetstream is switchboard's queue on NATS JetStream: every
// process opened with the same servers and prefix shares one queue, and
// with three replicas the queue survives the loss of a server.
//
// # Streams
//
// Open creates (and on upgrade updates) five streams named after the
// prefix P, each with the configured replica count:
//
//   - P_events: one message per event, subject P.ev.<token>. The body is
//     the payload byte for byte; name, source, delivery id, times, headers
//     and the event's jobs (Sb-Jobs: listener, tries, due time, order key)
//     are headers. A replay (AddJobs) is a message on P.rp.<token> naming
//     the event and carrying the new jobs. An event's id is "evt_" and the
//     hex of its stream sequence; a job's is "job_", the sequence of the
//     message that created it and its index there, so ids sort in the
//     order JetStream stored them, across every process.
//   - P_state: the last message per subject is a record (MaxMsgsPerSubject
//     1, like a KV bucket): P.job.<id> a job that has changed since its
//     creation, P.st.pause.<listener>, P.st.sem.<listener> (concurrency
//     holders), P.st.rate.<listener> (token bucket), P.st.lock.prune,
//     P.proc.<id> (heartbeats). Every change is a compare-and-set
//     (Nats-Expected-Last-Subject-Sequence), decided by the stream leader.
//   - P_kv: listener kv values, one subject per namespace and key, the
//     expiry in a header.
//   - P_history (one record per minute, merged by compare-and-set) and
//     P_audit, pruned by the history retention.
//
// No durable consumer is used. Each process keeps a view (see view.go):
// two ordered consumers read P_events (headers only) and P_state and keep
// an index of every event, job, pause and process in memory. Listing,
// counting (Stats reads counters, never scans), choosing jobs to lease and
// the Ready signal come from the view; every decision that matters is a
// compare-and-set on the servers, so a view that lags costs a lost race,
// never a wrong write. The admin reads (ListJobs, GetJob, GetEvent,
// ListEvents, Stats, Processes) first write a marker to both streams and
// wait until the view has read them: they see everything any process had
// acknowledged before the call.
//
// # What a 200 means
//
// Enqueue writes one message: the event and its jobs. It returns once
// JetStream acknowledged that write, which on a replicated stream means a
// quorum of the replicas stored it. Jobs need no second write (a job has a
// record only once it changes), so a crash at any moment leaves an event
// with all of its jobs or nothing. With a dedupe window the message's
// subject is derived from the source and delivery id and the write
// expects that subject to hold nothing younger than the window: the
// stream leader's compare-and-set is the dedupe check of every process at
// once, for the whole window (JetStream's own Nats-Msg-Id window is not
// used: it lasts two minutes by default and lives in server memory). A
// pruned event that the window still covers leaves a tombstone on its
// subject. The connection does not buffer while disconnected: a write
// that fails is reported at once (ErrUnavailable, 503) rather than sent
// later, and a write that gets no acknowledgement within Options.Timeout
// fails the same way.
//
// # The contract, built from JetStream's primitives
//
//   - Lease: candidates from the view (per listener, oldest RunAt first,
//     not paused, not held back by an order key), each claimed by a
//     compare-and-set of its record to running with Attempt+1, the
//     holder's process id and LeaseUntil. Two processes choosing the same
//     job claim it once. The event is read (or taken from a cache) before
//     the claim. Each claim carries an id; a claim whose write got no
//     answer is remembered, and once the view shows it stored (running
//     under that id, not started) the next Leases give it back uncharged.
//   - Fencing: Start and Finish are compare-and-sets that first check the
//     record is running under the caller's attempt (ErrLeaseLost
//     otherwise).
//   - Concurrency across processes: a semaphore record per listener lists
//     the attempts holding a slot; a claim takes a slot with a
//     compare-and-set (a claim that finds no room is handed back), the end
//     of the attempt releases it, and a holder the view shows as no longer
//     running is dropped by the next reader. (A consumer's MaxAckPending
//     would count jobs waiting for a retry's backoff as running.)
//   - Rate across processes: a token bucket record per listener, tokens
//     taken by compare-and-set before claiming and refunded for claims
//     lost.
//   - order_by: a job is held back while an older job (lower id) of its
//     listener and key is pending or running in the view, and until the
//     view's events feed has passed every message stored before the job's
//     own, so an older job cannot be unseen.
//   - Pause: a record per listener, watched through the view; Lease also
//     reads the flags from the servers while claiming and hands back a
//     claim of a listener paused meanwhile.
//   - Retries, backoff, snooze, delay: the record's RunAt (no NakWithDelay,
//     no consumer BackOff: the queue's clock is the record).
//   - Lost leases and crashes: every process heartbeats into P.proc.<id>.
//     A running job whose holder has had no heartbeat for ProcessTimeout
//     is taken back at once and charged as a crash (if started); one whose
//     lease ended in a live process is taken back by that process at the
//     lease's end, or by another one ProcessTimeout later, charged as a
//     lease overrun. An attempt that never started is given back; taken
//     from a dead process, it leaves the job Suspect (every Start here is
//     durable before it returns, so the next one clears it).
//   - Failed jobs stay as records until retried or forgotten (a forgotten
//     job's record becomes a tombstone until its event is pruned).
//   - Prune (in the process holding the prune lock) deletes events whose
//     jobs are all done past the retention (the event first: a job record
//     without its event is inert, an event without its records would bring
//     its jobs back), done jobs of events that stay (as tombstones),
//     expired kv values, dedupe tombstones past the window, old history.
//
// # Weaker than bbolt (see the README)
//
// Durability is the servers': with one replica an acknowledged event is on
// one server's disk only if that server fsyncs each write (sync_interval:
// always); Warnings says so at start. A lease that runs out in a live
// process is taken back by another process only ProcessTimeout after its
// end. A write whose acknowledgement is lost (the server stored it, the
// answer did not arrive) is reported as ErrUnavailable although it is
// stored: with a delivery id the sender's retry is answered as a
// duplicate, without one it stores a second event. Every process holds the
// index of the retained events and jobs in memory (about 830 bytes per
// job: BenchmarkView_MemoryPerJob) and reads both streams at start.
//
// The minimum server is NATS 2.9 (ordered consumers with headers only,
// per-subject compare-and-set); the tests run on 2.9.10 (CI's system
// server) and on the in-process server go.mod names (2.15.2).
package jetstream
