// Package rediscache is a small byte cache shared by all replicas
// through Redis, with a bounded in-memory layer in front. Values are
// sealed with AES-256-GCM before they reach Redis, because the intended
// values (resolved destinations with their credentials) hold secrets.
//
// Redis is an optimization here, never the source of truth. When Redis
// fails, the cache keeps working from memory, logs one warning a minute,
// and a miss sends the caller to its source of truth.
package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix     = "switchyard:cache:"
	DefaultTTL        = 5 * time.Minute
	DefaultMemoryTTL  = 30 * time.Second
	DefaultMaxEntries = 1000
	// DefaultRetryAfter is how long Get and Set leave Redis alone after
	// it fails, so an outage does not add a failed round trip to every
	// call.
	DefaultRetryAfter = 5 * time.Second
)

// Config configures a Cache. Zero durations and sizes take the defaults
// above.
type Config struct {
	// Redis is the shared layer. Nil keeps the cache in memory only.
	Redis redis.UniversalClient
	// EncryptionKey is the AES-256 key, 32 bytes, that seals values in
	// Redis. Required when Redis is set.
	EncryptionKey []byte
	// Prefix goes in front of every Redis key, so several caches and
	// tests can share one Redis database.
	Prefix string
	// TTL is the lifetime of a value in Redis. It bounds how stale a
	// value can get when a Delete could not reach Redis.
	TTL time.Duration
	// MemoryTTL is the lifetime of a value in the memory layer. It
	// bounds how long a replica keeps a value that another replica
	// deleted.
	MemoryTTL time.Duration
	// MaxEntries bounds the memory layer; the least recently used entry
	// goes first.
	MaxEntries int
	// RetryAfter is how long Get and Set skip Redis after a failure.
	RetryAfter time.Duration
	// Logger receives the warning when Redis fails. Required.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.MemoryTTL <= 0 {
		c.MemoryTTL = DefaultMemoryTTL
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = DefaultRetryAfter
	}
}

// Cache is a byte cache keyed by string. It is safe for concurrent use.
type Cache struct {
	cfg    Config
	cipher *Cipher
	memory *memory
	// unavailable warns that Redis failed; corrupt warns that a value
	// in Redis did not decrypt.
	unavailable *logthrottle.Warning
	corrupt     *logthrottle.Warning
	// redisDownUntil is the Unix nanosecond time before which Get and
	// Set skip Redis.
	redisDownUntil atomic.Int64
	now            func() time.Time
}

// New returns a Cache. It does not contact Redis.
func New(cfg Config) (*Cache, error) {
	if cfg.Logger == nil {
		return nil, errors.New("rediscache: Logger is required")
	}
	cfg.setDefaults()

	c := &Cache{
		cfg:    cfg,
		memory: newMemory(cfg.MaxEntries),
		unavailable: &logthrottle.Warning{
			Logger:  cfg.Logger,
			Message: "redis cache unavailable, using memory only",
		},
		corrupt: &logthrottle.Warning{
			Logger:  cfg.Logger,
			Message: "redis cache value does not decrypt, deleting it",
		},
		now: time.Now,
	}
	if cfg.Redis != nil {
		cipher, err := NewCipher(cfg.EncryptionKey)
		if err != nil {
			return nil, err
		}
		c.cipher = cipher
	}
	return c, nil
}

// Get returns the value stored under key, from memory or else from
// Redis. A Redis failure or a value that does not decrypt counts as a
// miss, so the caller goes to its source of truth.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool) {
	now := c.now()
	if value, ok := c.memory.get(key, now); ok {
		return value, true
	}
	if !c.redisUp(now) {
		return nil, false
	}

	redisKey := c.cfg.Prefix + key
	sealed, err := c.cfg.Redis.Get(ctx, redisKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false
	}
	if err != nil {
		c.redisFailed(ctx, "get", err)
		return nil, false
	}

	value, err := c.cipher.Open(sealed, []byte(redisKey))
	if err != nil {
		// A value sealed under an old key stays unreadable, so it goes.
		c.corrupt.Warn(now, slog.String("key", key))
		c.cfg.Redis.Del(ctx, redisKey)
		return nil, false
	}
	c.memory.set(key, value, now, c.cfg.MemoryTTL)
	return value, true
}

// Set stores value under key in memory and in Redis. A Redis failure
// leaves the value in memory only.
func (c *Cache) Set(ctx context.Context, key string, value []byte) {
	now := c.now()
	c.memory.set(key, value, now, c.cfg.MemoryTTL)
	if !c.redisUp(now) {
		return
	}

	redisKey := c.cfg.Prefix + key
	sealed := c.cipher.Seal(value, []byte(redisKey))
	if err := c.cfg.Redis.Set(ctx, redisKey, sealed, c.cfg.TTL).Err(); err != nil {
		c.redisFailed(ctx, "set", err)
	}
}

// Delete removes key from memory and from Redis. It tries Redis even
// while Get and Set skip it, because a stale value is worse than a slow
// call. When Redis still fails, the value there expires with the TTL.
func (c *Cache) Delete(ctx context.Context, key string) {
	c.memory.delete(key)
	if c.cfg.Redis == nil {
		return
	}
	if err := c.cfg.Redis.Del(ctx, c.cfg.Prefix+key).Err(); err != nil {
		c.redisFailed(ctx, "delete", err)
	}
}

func (c *Cache) redisUp(now time.Time) bool {
	return c.cfg.Redis != nil && now.UnixNano() >= c.redisDownUntil.Load()
}

// redisFailed skips Redis for a while and warns. An ended context of
// the caller is not a Redis failure, so it changes nothing.
func (c *Cache) redisFailed(ctx context.Context, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	now := c.now()
	c.redisDownUntil.Store(now.Add(c.cfg.RetryAfter).UnixNano())
	c.unavailable.Warn(now, slog.String("op", op), slog.Any("error", fmt.Errorf("redis: %w", err)))
}
