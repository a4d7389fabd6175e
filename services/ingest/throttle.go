package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttleInterval is the least time between two warnings of one kind.
const throttleInterval = 5 * time.Second

// throttle passes one warning of a kind per throttleInterval and counts
// the rest, so a failing NATS server does not flood the log with one
// line per event. The zero value is ready to use.
type throttle struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
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

// record logs msg unless one was logged less than throttleInterval ago.
// The record it logs carries the count of records left out before it.
func (t *throttle) record(log *slog.Logger, level slog.Level, msg string, args ...any) {
	t.recordContext(context.Background(), log, level, msg, args...)
}

// recordContext is record with the context of the traced operation.
func (t *throttle) recordContext(ctx context.Context, log *slog.Logger, level slog.Level,
	msg string, args ...any) {
	t.mu.Lock()
	now := time.Now()
	if !t.last.IsZero() && now.Sub(t.last) < throttleInterval {
		t.suppressed++
		t.mu.Unlock()
		return
	}
	suppressed := t.suppressed
	t.last, t.suppressed = now, 0
	t.mu.Unlock()

	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	log.Log(ctx, level, msg, args...)
}
