package ruleengine

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttleInterval is the minimum time between two logs with the same
// key. Repeats in between are counted and reported with the next log.
const throttleInterval = 10 * time.Second

// throttledLogger rate-limits warnings that a bad event, a broken rule or
// an outage could otherwise repeat thousands of times a second. It is
// safe for concurrent use.
type throttledLogger struct {
	logger *slog.Logger
	mu     sync.Mutex
	keys   map[string]*throttleState
}

type throttleState struct {
	last       time.Time
	suppressed int
}

func newThrottledLogger(logger *slog.Logger) *throttledLogger {
	return &throttledLogger{logger: logger, keys: make(map[string]*throttleState)}
}

// log writes msg at level unless a log with the same key was written
// less than throttleInterval ago. Keys should be few: a message, or a
// message and a rule.
func (t *throttledLogger) log(level slog.Level, key, msg string, args ...any) {
	t.logContext(context.Background(), level, key, msg, args...)
}

// logContext is log with the context of the traced operation, whose
// trace and span ids go into the record.
func (t *throttledLogger) logContext(ctx context.Context, level slog.Level, key, msg string,
	args ...any) {
	suppressed, ok := t.allow(key)
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	t.logger.Log(ctx, level, msg, args...)
}

func (t *throttledLogger) allow(key string) (suppressed int, ok bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()

	st := t.keys[key]
	if st == nil {
		t.keys[key] = &throttleState{last: now}
		return 0, true
	}
	if now.Sub(st.last) < throttleInterval {
		st.suppressed++
		return 0, false
	}
	suppressed = st.suppressed
	st.last, st.suppressed = now, 0
	return suppressed, true
}
