// Package engine holds switchboard's domain: the Event a webhook becomes,
// the Job each matching Listener gets, the pure rules that route one to
// the other, the errors a listener can express, and the small interfaces
// the storage, ingest, script and host packages implement or consume.
//
// Nothing here does I/O. Subpackages adapt one technology each (bbolt,
// Fiber, goja, database/sql, SMTP…) and cmd/switchboard wires them.
package engine
