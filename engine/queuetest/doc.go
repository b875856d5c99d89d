// Package queuetest is the queue's conformance suite: the contract of
// engine.Queue written as tests that any backend runs by giving Run a
// Harness. The embedded bbolt store, PostgreSQL and NATS JetStream all
// pass the same tests; none of them depends on a backend's internals.
//
// The suite uses real time with short durations (leases of a few hundred
// milliseconds, retention of a second) and polls for conditions with a
// deadline, so backends whose clocks live in a server (JetStream's ack
// timers) are tested as they run.
//
// # Writing a harness
//
// A backend's test calls Run with a Harness:
//
//	func TestConformance(t *testing.T) { queuetest.Run(t, harness{}) }
//
// New opens an empty queue that shares nothing with any other (a fresh
// file, schema or stream prefix per call); Crash stops a queue as kill -9
// would and opens a new process's queue over the same storage; Peer opens
// a second live process's queue over it, or returns nil for a backend that
// serves one process, and the tests of limits across processes skip.
//
// # What the suite assumes of time
//
// Every test opens its own queues and the tests run in parallel; on the
// bbolt store the suite takes under ten seconds. Times a caller gives
// (RunAt, ReceivedAt, an attempt's StartedAt) must come back within a
// millisecond; times a backend stamps (CreatedAt, LeaseUntil) within half
// a second of the test's clock. Waits for the backend to act by itself (a
// lease taken back, a TTL expiring, Ready firing) are bounded by ten
// seconds, and waits that depend on a dead process's heartbeat lapsing
// (crash charging, Processes) by ProcessGoneWithin.
package queuetest
