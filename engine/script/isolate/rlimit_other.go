//go:build !linux

package isolate

import "errors"

var errNoCap = errors.New(`scripts.isolation = "process" needs Linux: the memory cap is RLIMIT_DATA, which only Linux applies to every mapping`)

func capSupported() error { return errNoCap }

func setCap(int, int64) (int64, int64, error) { return 0, 0, errNoCap }
