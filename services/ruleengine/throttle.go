package ruleengine

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
)

// throttleInterval is the minimum time between two logs with the same
// key. Repeats in between are counted and reported with the next log.
const throttleInterval = 10 * time.Second

// throttledLogger rate-limits warnings that a bad event, a broken rule or
// an outage could otherwise repeat thousands of times a second. It is
// safe for concurrent use.
type throttledLogger struct {
	logger  *slog.Logger
	limiter logthrottle.Limiter
}

func newThrottledLogger(logger *slog.Logger) *throttledLogger {
	return &throttledLogger{logger: logger, limiter: logthrottle.Limiter{Interval: throttleInterval}}
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
	t.limiter.Log(ctx, t.logger, level, key, msg, args...)
}
