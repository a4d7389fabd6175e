package logthrottle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limiter passes one log record per key each Interval and counts the
// records it holds back, reporting the count as the "suppressed"
// attribute of the next record of that key. A key names what repeats,
// such as a message, or a message and a destination, so keys should be
// few. The zero value is ready to use, with DefaultInterval, and a
// Limiter is safe for concurrent use.
type Limiter struct {
	Interval time.Duration

	mu   sync.Mutex
	keys map[string]*keyState
}

type keyState struct {
	last       time.Time
	suppressed int
}

// Log writes msg with args to log at level, in ctx so that a tracing
// handler can add the trace ids, unless a record of key went out less
// than Interval ago.
func (l *Limiter) Log(ctx context.Context, log *slog.Logger, level slog.Level, key, msg string,
	args ...any) {
	suppressed, ok := l.allow(key, time.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, slog.Int("suppressed", suppressed))
	}
	log.Log(ctx, level, msg, args...)
}

// allow reports whether a record of key may go out at now, and how many
// were held back since the last one.
func (l *Limiter) allow(key string, now time.Time) (suppressed int, ok bool) {
	interval := l.Interval
	if interval == 0 {
		interval = DefaultInterval
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[string]*keyState)
	}
	st := l.keys[key]
	if st == nil {
		l.keys[key] = &keyState{last: now}
		return 0, true
	}
	if now.Sub(st.last) < interval {
		st.suppressed++
		return 0, false
	}
	suppressed = st.suppressed
	st.last, st.suppressed = now, 0
	return suppressed, true
}
