// Package logthrottle rate-limits repeated log lines, so an outage of a
// dependency such as Redis logs once a minute instead of once per call.
package logthrottle

import (
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the least time between two lines of a Warning
// whose Interval is zero.
const DefaultInterval = time.Minute

// Warning logs one message at warning level at most once per Interval
// and counts the lines it held back, reporting the count as the
// "suppressed" attribute of the next line. It is safe for concurrent
// use. Logger and Message must be set before the first Warn.
type Warning struct {
	Logger   *slog.Logger
	Message  string
	Interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Warn logs the message with attrs unless a line went out less than
// Interval before now.
func (w *Warning) Warn(now time.Time, attrs ...any) {
	interval := w.Interval
	if interval == 0 {
		interval = DefaultInterval
	}

	w.mu.Lock()
	if !w.last.IsZero() && now.Sub(w.last) < interval {
		w.suppressed++
		w.mu.Unlock()
		return
	}
	suppressed := w.suppressed
	w.last = now
	w.suppressed = 0
	w.mu.Unlock()

	attrs = append(attrs, slog.Int("suppressed", suppressed))
	w.Logger.Warn(w.Message, attrs...)
}
