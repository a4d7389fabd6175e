package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
)

// throttleInterval is the least time between two warnings of one kind.
const throttleInterval = 5 * time.Second

// throttle passes one record of a kind per throttleInterval and counts
// the rest, so a failing NATS server does not flood the log with one
// line per event. Make it with newThrottle.
type throttle struct {
	limiter logthrottle.Limiter
}

// newThrottle returns a throttle with throttleInterval.
func newThrottle() *throttle {
	return &throttle{limiter: logthrottle.Limiter{Interval: throttleInterval}}
}

// warn logs msg at Warn level, throttled as record does.
func (t *throttle) warn(log *slog.Logger, msg string, args ...any) {
	t.recordContext(context.Background(), log, slog.LevelWarn, msg, args...)
}

// warnContext is warn with the context of the traced operation, whose
// trace and span ids go into the record.
func (t *throttle) warnContext(ctx context.Context, log *slog.Logger, msg string, args ...any) {
	t.recordContext(ctx, log, slog.LevelWarn, msg, args...)
}

// recordContext logs msg unless one was logged less than
// throttleInterval ago. The record it logs carries the count of records
// left out before it.
func (t *throttle) recordContext(ctx context.Context, log *slog.Logger, level slog.Level,
	msg string, args ...any) {
	t.limiter.Log(ctx, log, level, "", msg, args...)
}
