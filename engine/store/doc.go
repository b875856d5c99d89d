// Package store is switchboard's embedded, durable job queue: events, jobs,
// dedupe records and listener key/value data in one bbolt file, written by a
// single group-committing goroutine.
package store
