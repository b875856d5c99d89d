//go:build unix

package store

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// freeBytes returns the space available to this user on the filesystem
// holding path.
func freeBytes(path string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
