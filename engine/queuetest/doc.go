// Package queuetest is the queue's conformance suite: the contract of
// engine.Queue written as tests that any backend runs by giving Run a
// Harness. The embedded bbolt store, PostgreSQL and NATS JetStream all
// pass the same tests; none of them depends on a backend's internals.
//
// The suite uses real time with short durations (leases of a few hundred
// milliseconds, retention of a second) and polls for conditions with a
// deadline, so backends whose clocks live in a server (JetStream's ack
// timers) are tested as they run.
package queuetest
