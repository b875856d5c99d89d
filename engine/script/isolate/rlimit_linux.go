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
// "fatal error: out of memory". It returns the cap.
func setCap(pid int, limit int64) (int64, error) {
	base, err := vmData(pid)
	if err != nil {
		return 0, err
	}
	limitAt := uint64(base + limit)
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: limitAt, Max: limitAt}, nil); err != nil {
		return 0, fmt.Errorf("set the script process's memory cap (RLIMIT_DATA): %w", err)
	}
	return int64(limitAt), nil
}

// vmData reads a process's VmData from /proc/PID/status, in bytes.
func vmData(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read the script process's memory use: %w", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmData:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the script process's memory use: VmData %q", rest)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read the script process's memory use: no VmData in /proc/%d/status", pid)
}
