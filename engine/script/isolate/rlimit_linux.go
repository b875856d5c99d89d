package isolate

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func capSupported() error { return nil }

// setCap limits the child pid's data segment (RLIMIT_DATA: its private
// writable mappings, which hold the Go heap, stacks and runtime
// metadata) to what it maps now plus limit. The Go runtime reserves far
// more address space than it uses (about 1.2 GB of VmSize at start), so
// RLIMIT_AS would refuse its first arenas; RLIMIT_DATA counts only what
// it maps writable, and past the cap its mmap fails and it stops with
// "fatal error: out of memory". It returns the cap and the child's
// resident memory now.
func setCap(pid int, limit int64) (capAt, rss int64, err error) {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read the script process's memory use: %w", err)
	}
	base, err := statusBytes(st, "VmData:")
	if err != nil {
		return 0, 0, err
	}
	if rss, err = statusBytes(st, "VmRSS:"); err != nil {
		return 0, 0, err
	}
	at := uint64(base + limit)
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: at, Max: at}, nil); err != nil {
		return 0, 0, fmt.Errorf("set the script process's memory cap (RLIMIT_DATA): %w", err)
	}
	return int64(at), rss, nil
}

// statusBytes reads one "Key:  N kB" line of /proc/PID/status, in bytes.
func statusBytes(status []byte, key string) (int64, error) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the script process's memory use: %s %q", key, rest)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read the script process's memory use: no %s in its status", key)
}
