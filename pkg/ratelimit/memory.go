package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// idleAfter is how long a key's limiter stays unused before it is
// dropped. A limiter refills its whole burst in one second, so after
// that an idle limiter behaves like a new one and dropping it changes
// nothing.
const idleAfter = time.Minute

// memoryLimiter keeps one token bucket per key in this process. It is
// safe for concurrent use.
type memoryLimiter struct {
	mu        sync.Mutex
	limiters  map[string]*memoryEntry
	lastSweep time.Time
}

type memoryEntry struct {
	limiter  *rate.Limiter
	lastUsed time.Time
}

func newMemoryLimiter() *memoryLimiter {
	return &memoryLimiter{limiters: make(map[string]*memoryEntry)}
}

// allow takes one token for key if there is one. Otherwise it takes
// nothing and returns how long until a token is there.
func (m *memoryLimiter) allow(key string, perSecond int, now time.Time) (bool, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()

	m.sweep(now)
	lim := m.limiter(key, perSecond, now)
	if lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - lim.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / float64(perSecond) * float64(time.Second)))
	return false, max(wait, time.Nanosecond)
}

// limiter returns the bucket of key, made or adjusted for perSecond,
// because a destination's rate can change while its bucket lives.
func (m *memoryLimiter) limiter(key string, perSecond int, now time.Time) *rate.Limiter {
	e, ok := m.limiters[key]
	if !ok {
		e = &memoryEntry{limiter: rate.NewLimiter(rate.Limit(perSecond), perSecond)}
		m.limiters[key] = e
	}
	e.lastUsed = now
	if e.limiter.Burst() != perSecond {
		e.limiter.SetLimitAt(now, rate.Limit(perSecond))
		e.limiter.SetBurstAt(now, perSecond)
	}
	return e.limiter
}

// sweep drops idle limiters, at most once per idleAfter, so keys of
// deleted destinations do not pile up.
func (m *memoryLimiter) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < idleAfter {
		return
	}
	m.lastSweep = now
	for key, e := range m.limiters {
		if now.Sub(e.lastUsed) >= idleAfter {
			delete(m.limiters, key)
		}
	}
}
