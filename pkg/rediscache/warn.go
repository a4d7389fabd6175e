package rediscache

import (
	"log/slog"
	"sync"
	"time"
)

// warnInterval is the least time between two warnings about Redis, so
// an outage logs once a minute instead of once per call.
const warnInterval = time.Minute

// throttledWarning logs at most once per warnInterval and counts the
// warnings it held back. It is safe for concurrent use.
type throttledWarning struct {
	logger *slog.Logger
	msg    string

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (w *throttledWarning) warn(now time.Time, attrs ...any) {
	w.mu.Lock()
	if !w.last.IsZero() && now.Sub(w.last) < warnInterval {
		w.suppressed++
		w.mu.Unlock()
		return
	}
	suppressed := w.suppressed
	w.last = now
	w.suppressed = 0
	w.mu.Unlock()

	attrs = append(attrs, slog.Int("suppressed", suppressed))
	w.logger.Warn(w.msg, attrs...)
}
