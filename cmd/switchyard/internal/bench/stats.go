package bench

import (
	"slices"
	"sync"
	"time"
)

// Latencies are percentiles of a set of durations, in milliseconds so
// the JSON report reads without conversion.
type Latencies struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// recorder collects durations from many goroutines. The zero value is
// ready to use.
type recorder struct {
	mu      sync.Mutex
	samples []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
}

// summary sorts a copy of the samples and returns their percentiles,
// by the nearest-rank method.
func (r *recorder) summary() Latencies {
	r.mu.Lock()
	s := slices.Clone(r.samples)
	r.mu.Unlock()
	if len(s) == 0 {
		return Latencies{}
	}

	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		i = max(0, min(i, len(s)-1))
		return milliseconds(s[i])
	}
	return Latencies{
		Count: len(s),
		P50:   rank(0.50),
		P90:   rank(0.90),
		P99:   rank(0.99),
		Max:   milliseconds(s[len(s)-1]),
	}
}

func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// rate returns n per second of elapsed time, or 0 for no time.
func rate(n int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}
