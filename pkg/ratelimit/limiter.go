// Package ratelimit enforces a per-key rate, such as a destination's
// invocation rate limit, across all replicas through Redis, or in this
// process when no Redis is configured.
//
// The Redis limiter is GCRA from github.com/go-redis/redis_rate, timed
// by the Redis server's clock, so replicas with skewed clocks share one
// budget. The in-memory limiter is a token bucket from
// golang.org/x/time/rate. Both allow a burst of one second's worth of
// calls, then the rate.
//
// When Redis fails, the Limiter decides in memory and sets
// Result.Fallback. It logs a warning at most once a minute and tries
// Redis again after Config.RetryAfter.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix     = "switchyard:ratelimit:"
	DefaultRetryAfter = 5 * time.Second
)

// Config configures a Limiter.
type Config struct {
	// Redis holds the shared budget. Nil limits each process on its own.
	Redis redis.UniversalClient
	// Prefix goes in front of every key in Redis. The redis_rate
	// library adds "rate:" in front of that.
	Prefix string
	// RetryAfter is how long the Limiter decides in memory after Redis
	// fails, before it tries Redis again.
	RetryAfter time.Duration
	// Logger receives the warning when Redis fails. Required.
	Logger *slog.Logger
}

// Result is the outcome of one Allow call.
type Result struct {
	// Allowed is true when the call may go ahead now; it has been
	// counted against the budget.
	Allowed bool
	// RetryAfter is how long until a call may be allowed, when Allowed
	// is false. Nothing was counted.
	RetryAfter time.Duration
	// Fallback is true when Redis is configured but failed, so this
	// process decided alone. While replicas fall back, each allows the
	// full rate, so the destination can see the rate times the number
	// of replicas.
	Fallback bool
}

// Limiter limits calls per key. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	redis   *redis_rate.Limiter
	memory  *memoryLimiter
	warning *logthrottle.Warning
	// redisDownUntil is the Unix nanosecond time before which the
	// Limiter decides in memory.
	redisDownUntil atomic.Int64
	now            func() time.Time
}

// New returns a Limiter. It does not contact Redis.
func New(cfg Config) (*Limiter, error) {
	if cfg.Logger == nil {
		return nil, errors.New("ratelimit: Logger is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}

	l := &Limiter{
		cfg:    cfg,
		memory: newMemoryLimiter(),
		warning: &logthrottle.Warning{
			Logger:  cfg.Logger,
			Message: "rate limit redis unavailable, limiting per process",
		},
		now: time.Now,
	}
	if cfg.Redis != nil {
		l.redis = redis_rate.NewLimiter(cfg.Redis)
	}
	return l, nil
}

// Allow counts one call against key's budget of perSecond calls a
// second if the budget has room, and otherwise returns how long to wait
// without counting anything. It never sleeps, so a consumer can hand a
// message back with that delay (NakWithDelay) instead of holding it.
//
// Errors are ErrInvalidRate and the context's error. A Redis failure is
// not an error: the result then comes from memory with Fallback set.
func (l *Limiter) Allow(ctx context.Context, key string, perSecond int) (Result, error) {
	if perSecond < 1 {
		return Result{}, fmt.Errorf("%w: got %d for %q", ErrInvalidRate, perSecond, key)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	now := l.now()
	if l.redisUp(now) {
		res, err := l.redis.Allow(ctx, l.cfg.Prefix+key, redis_rate.PerSecond(perSecond))
		if err == nil {
			return Result{Allowed: res.Allowed > 0, RetryAfter: max(res.RetryAfter, 0)}, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Result{}, ctxErr
		}
		l.redisFailed(now, key, err)
	}

	allowed, wait := l.memory.allow(key, perSecond, now)
	return Result{Allowed: allowed, RetryAfter: wait, Fallback: l.cfg.Redis != nil}, nil
}

// Wait blocks until Allow lets a call for key through, and returns the
// context's error if the context ends first. Waiting here is not a
// delivery attempt. Prefer Allow in a consumer that would otherwise hold
// a message past its ack wait while it sleeps.
func (l *Limiter) Wait(ctx context.Context, key string, perSecond int) error {
	for {
		res, err := l.Allow(ctx, key, perSecond)
		if err != nil {
			return err
		}
		if res.Allowed {
			return nil
		}

		timer := time.NewTimer(res.RetryAfter)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

func (l *Limiter) redisUp(now time.Time) bool {
	return l.redis != nil && now.UnixNano() >= l.redisDownUntil.Load()
}

func (l *Limiter) redisFailed(now time.Time, key string, err error) {
	l.redisDownUntil.Store(now.Add(l.cfg.RetryAfter).UnixNano())
	l.warning.Warn(now, slog.String("key", key), slog.Any("error", fmt.Errorf("redis: %w", err)))
}
