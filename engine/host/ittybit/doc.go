// Package ittybit is the "ittybit" host module: a small client for the
// Ittybit media API (create and fetch jobs, and standalone tasks) with
// per-job idempotency keys.
package ittybit
