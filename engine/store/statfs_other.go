//go:build !unix

package store

// freeBytes is unknown on this platform: Ping relies on failed commits.
func freeBytes(string) (uint64, bool) { return 0, false }
