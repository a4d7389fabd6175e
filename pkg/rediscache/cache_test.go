package rediscache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
)

// recorder keeps the log messages of a test.
type recorder = redistest.LogRecorder

func testKey(b byte) []byte {
	return bytes.Repeat([]byte{b}, KeySize)
}

func newCache(t *testing.T, cfg Config) (*Cache, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.Logger = slog.New(rec)
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, rec
}

func TestNewRejectsBadConfig(t *testing.T) {
	logger := slog.New(&recorder{})
	redis := redistest.Unreachable(t)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"missing logger", Config{}, nil},
		{"short key", Config{Logger: logger, Redis: redis, EncryptionKey: []byte("short")}, ErrKeySize},
		{"missing key", Config{Logger: logger, Redis: redis}, ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("New error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMemoryOnlyRoundTrip(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, Config{})

	if _, ok := c.Get(ctx, "a"); ok {
		t.Fatal("Get(a) on an empty cache found a value")
	}
	c.Set(ctx, "a", []byte("one"))
	got, ok := c.Get(ctx, "a")
	if !ok || string(got) != "one" {
		t.Fatalf("Get(a) = %q, %v, want one, true", got, ok)
	}

	got[0] = 'X'
	again, _ := c.Get(ctx, "a")
	if string(again) != "one" {
		t.Errorf("Get(a) after changing the returned slice = %q, want one", again)
	}

	c.Delete(ctx, "a")
	if _, ok := c.Get(ctx, "a"); ok {
		t.Error("Get(a) after Delete found a value")
	}
}

func TestMemoryTTL(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, Config{MemoryTTL: time.Minute})
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }

	c.Set(ctx, "a", []byte("one"))
	now = now.Add(59 * time.Second)
	if _, ok := c.Get(ctx, "a"); !ok {
		t.Error("Get(a) before the TTL = miss, want hit")
	}
	now = now.Add(time.Second)
	if _, ok := c.Get(ctx, "a"); ok {
		t.Error("Get(a) at the TTL = hit, want miss")
	}
}

func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, Config{MaxEntries: 3})

	for i := range 3 {
		c.Set(ctx, fmt.Sprint(i), []byte{byte(i)})
	}
	c.Get(ctx, "0") // 0 is now more recent than 1
	c.Set(ctx, "3", []byte{3})

	if n := c.memory.len(); n != 3 {
		t.Errorf("memory holds %d entries, want 3", n)
	}
	if _, ok := c.Get(ctx, "1"); ok {
		t.Error("least recently used key 1 is still cached")
	}
	for _, key := range []string{"0", "2", "3"} {
		if _, ok := c.Get(ctx, key); !ok {
			t.Errorf("Get(%s) = miss, want hit", key)
		}
	}
}

func TestRedisRoundTrip(t *testing.T) {
	client, prefix := redistest.Client(t)
	ctx := context.Background()
	cfg := Config{Redis: client, EncryptionKey: testKey(1), Prefix: prefix}
	writer, _ := newCache(t, cfg)
	reader, _ := newCache(t, cfg)
	plain := []byte(`{"url":"https://ci.example/job/x/build","password":"hunter2"}`)

	writer.Set(ctx, "dest", plain)

	got, ok := reader.Get(ctx, "dest")
	if !ok || !bytes.Equal(got, plain) {
		t.Fatalf("reader Get(dest) = %q, %v, want %q, true", got, ok, plain)
	}

	stored, err := client.Get(ctx, prefix+"dest").Bytes()
	if err != nil {
		t.Fatalf("read the raw Redis value: %v", err)
	}
	if bytes.Contains(stored, plain) || bytes.Contains(stored, []byte("hunter2")) {
		t.Errorf("Redis value contains the plain bytes: %q", stored)
	}
	ttl := client.PTTL(ctx, prefix+"dest").Val()
	if ttl <= 0 || ttl > DefaultTTL {
		t.Errorf("Redis TTL = %v, want in (0, %v]", ttl, DefaultTTL)
	}
}

func TestRedisDeleteReachesOtherReplicas(t *testing.T) {
	client, prefix := redistest.Client(t)
	ctx := context.Background()
	cfg := Config{Redis: client, EncryptionKey: testKey(1), Prefix: prefix}
	first, _ := newCache(t, cfg)
	second, _ := newCache(t, cfg)

	first.Set(ctx, "dest", []byte("v1"))
	first.Delete(ctx, "dest")

	if _, ok := second.Get(ctx, "dest"); ok {
		t.Error("Get on another replica after Delete found a value")
	}
	if n := client.Exists(ctx, prefix+"dest").Val(); n != 0 {
		t.Errorf("Redis still holds the key after Delete (exists = %d)", n)
	}
}

func TestRedisValueUnderOtherKeyIsMiss(t *testing.T) {
	client, prefix := redistest.Client(t)
	ctx := context.Background()
	writer, _ := newCache(t, Config{Redis: client, EncryptionKey: testKey(1), Prefix: prefix})
	reader, rec := newCache(t, Config{Redis: client, EncryptionKey: testKey(2), Prefix: prefix})

	writer.Set(ctx, "dest", []byte("v1"))

	if got, ok := reader.Get(ctx, "dest"); ok {
		t.Errorf("Get with another encryption key = %q, want a miss", got)
	}
	if n := rec.Count("redis cache value does not decrypt, deleting it"); n != 1 {
		t.Errorf("got %d decrypt warnings, want 1", n)
	}
	if n := client.Exists(ctx, prefix+"dest").Val(); n != 0 {
		t.Error("the value that did not decrypt is still in Redis")
	}
}

func TestRedisDownServesMemoryAndWarnsOnce(t *testing.T) {
	ctx := context.Background()
	c, rec := newCache(t, Config{
		Redis:         redistest.Unreachable(t),
		EncryptionKey: testKey(1),
		// A retry interval shorter than the burst makes every call try
		// Redis again, so only the warning throttle keeps it at one.
		RetryAfter: time.Nanosecond,
	})

	for i := range 50 {
		key := fmt.Sprint(i % 5)
		c.Set(ctx, key, []byte(key))
		got, ok := c.Get(ctx, key)
		if !ok || string(got) != key {
			t.Fatalf("Get(%s) with Redis down = %q, %v, want %s, true", key, got, ok, key)
		}
		c.Delete(ctx, "other")
	}

	if _, ok := c.Get(ctx, "missing"); ok {
		t.Error("Get(missing) with Redis down found a value")
	}
	if n := rec.Count("redis cache unavailable, using memory only"); n != 1 {
		t.Errorf("got %d warnings in a burst of failures, want 1", n)
	}
}

func TestRedisDownSkipsRedisForRetryAfter(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, Config{Redis: redistest.Unreachable(t), EncryptionKey: testKey(1)})
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }

	c.Set(ctx, "a", []byte("one"))
	if c.redisUp(now) {
		t.Fatal("redisUp right after a failure = true, want false")
	}
	now = now.Add(DefaultRetryAfter)
	if !c.redisUp(now) {
		t.Error("redisUp after RetryAfter = false, want true")
	}
}
