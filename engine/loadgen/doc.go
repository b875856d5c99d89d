// Package loadgen sends signed webhook load at a server and measures what it acknowledges.
package loadgen
