//go:build !linux

package pattern

import "time"

// threadCPUTime reports false outside Linux, where benchmarks omit the
// CPU time metric.
func threadCPUTime() (time.Duration, bool) {
	return 0, false
}
