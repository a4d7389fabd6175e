//go:build linux

package pattern

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD of Linux getrusage(2), which the syscall
// package does not name.
const rusageThread = 1

// threadCPUTime returns the CPU time used so far by the calling OS thread.
// Benchmarks lock their goroutine to a thread to use it, so that time
// spent waiting for a CPU on a busy machine is not counted.
func threadCPUTime() (time.Duration, bool) {
	var usage syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &usage); err != nil {
		return 0, false
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()), true
}
