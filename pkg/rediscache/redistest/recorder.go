package redistest

import (
	"context"
	"log/slog"
	"sync"
)

// LogRecorder is a slog.Handler that keeps the messages it receives, so
// a test can count the warnings a Redis outage caused. It is safe for
// concurrent use.
type LogRecorder struct {
	mu       sync.Mutex
	messages []string
}

// Enabled reports true for every level.
func (r *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }

// WithAttrs returns r, since only messages are kept.
func (r *LogRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }

// WithGroup returns r, since only messages are kept.
func (r *LogRecorder) WithGroup(string) slog.Handler { return r }

// Handle keeps the record's message.
func (r *LogRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages = append(r.messages, rec.Message)
	return nil
}

// Count returns how many records had the message msg.
func (r *LogRecorder) Count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.messages {
		if m == msg {
			n++
		}
	}
	return n
}
