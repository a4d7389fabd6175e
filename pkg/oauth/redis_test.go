package oauth

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
)

// TestRedisSharedBetweenReplicas runs two Sources, as two replicas
// would, with 25 concurrent callers each.
func TestRedisSharedBetweenReplicas(t *testing.T) {
	client, prefix := redistest.Client(t)
	as := startAuthServer(t, time.Hour, false)
	replicas := []*Source{redisSource(t, client, prefix), redisSource(t, client, prefix)}
	c := creds(as.URL, "POST", authHeader)

	tokens := make([]string, 50)
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tokens[i], errs[i] = replicas[i%2].Token(context.Background(), "conn@1", c)
		})
	}
	wg.Wait()

	for i := range 50 {
		if errs[i] != nil {
			t.Fatalf("Token call %d: %v", i, errs[i])
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("Token call %d = %q, want %q like call 0", i, tokens[i], tokens[0])
		}
	}
	if n := as.requests(); n != 1 {
		t.Errorf("server saw %d token requests from two replicas, want 1", n)
	}

	ctx := context.Background()
	stored, err := client.Get(ctx, prefix+"token:conn@1").Bytes()
	if err != nil {
		t.Fatalf("read the raw Redis value: %v", err)
	}
	if bytes.Contains(stored, []byte(tokens[0])) {
		t.Error("Redis holds the token in the clear")
	}
	if ttl := client.PTTL(ctx, prefix+"token:conn@1").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("Redis TTL = %v, want in (0, 1h]", ttl)
	}
	if n := client.Exists(ctx, prefix+"lock:conn@1").Val(); n != 0 {
		t.Error("the lock is still held after the token request")
	}
}

func TestRedisInvalidateReachesOtherReplica(t *testing.T) {
	client, prefix := redistest.Client(t)
	as := startAuthServer(t, time.Hour, false)
	first, second := redisSource(t, client, prefix), redisSource(t, client, prefix)
	c := creds(as.URL, "POST", authHeader)
	ctx := context.Background()

	rejected, _ := first.Token(ctx, "conn@1", c)
	second.Invalidate(ctx, "conn@1", rejected)
	fresh, err := first.Token(ctx, "conn@1", c)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == rejected {
		t.Fatal("Token after another replica's Invalidate returned the rejected token")
	}

	// A late Invalidate of the old token leaves the fresh one alone.
	second.Invalidate(ctx, "conn@1", rejected)
	if got, _ := second.Token(ctx, "conn@1", c); got != fresh {
		t.Errorf("Token after a stale Invalidate = %q, want the fresh %q", got, fresh)
	}
	if n := as.requests(); n != 2 {
		t.Errorf("server saw %d token requests, want 2", n)
	}
}

// TestRedisLockWaitIsBounded holds the lock as a replica that crashed
// would: the Source waits LockWait, then requests a token itself.
func TestRedisLockWaitIsBounded(t *testing.T) {
	client, prefix := redistest.Client(t)
	as := startAuthServer(t, time.Hour, false)
	s, _ := newSource(t, Config{
		Redis: client, Prefix: prefix, EncryptionKey: testKey(),
		LockWait: 300 * time.Millisecond,
	})
	ctx := context.Background()
	if err := client.Set(ctx, prefix+"lock:conn@1", "crashed-replica", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	if _, err := s.Token(ctx, "conn@1", creds(as.URL, "POST", authHeader)); err != nil {
		t.Fatal(err)
	}

	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("Token returned after %v, want it to wait the 300ms LockWait", elapsed)
	}
	if n := as.requests(); n != 1 {
		t.Errorf("server saw %d token requests, want 1", n)
	}
}

func TestRedisOtherEncryptionKeyIsMiss(t *testing.T) {
	client, prefix := redistest.Client(t)
	as := startAuthServer(t, time.Hour, false)
	c := creds(as.URL, "POST", authHeader)
	ctx := context.Background()
	first := redisSource(t, client, prefix)
	other, rec := newSource(t, Config{
		Redis: client, Prefix: prefix,
		EncryptionKey: []byte("ffffffffffffffffffffffffffffffff"),
	})

	a, _ := first.Token(ctx, "conn@1", c)
	b, err := other.Token(ctx, "conn@1", c)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("a Source with another key read the sealed token")
	}
	msg := "oauth token in redis does not decrypt, check that all replicas share the encryption key"
	if n := rec.Count(msg); n != 1 {
		t.Errorf("got %d decrypt warnings, want 1", n)
	}
}

func TestRedisDownFallsBackToMemory(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	s, rec := newSource(t, Config{
		Redis:         redistest.Unreachable(t),
		EncryptionKey: testKey(),
		// Retrying Redis on every call leaves the warning throttle as
		// the only thing that keeps the log to one line.
		RetryAfter: time.Nanosecond,
	})
	c := creds(as.URL, "POST", authHeader)

	first, err := s.Token(context.Background(), "conn@1", c)
	if err != nil {
		t.Fatalf("Token with Redis down: %v", err)
	}
	for range 10 {
		got, err := s.Token(context.Background(), "conn@1", c)
		if err != nil || got != first {
			t.Fatalf("Token with Redis down = %q, %v, want %q from memory", got, err, first)
		}
	}

	if n := as.requests(); n != 1 {
		t.Errorf("server saw %d token requests, want 1", n)
	}
	if n := rec.Count("oauth token cache redis unavailable, using memory only"); n != 1 {
		t.Errorf("got %d warnings, want 1", n)
	}
	s.Invalidate(context.Background(), "conn@1", first)
	if got, _ := s.Token(context.Background(), "conn@1", c); got == first {
		t.Error("Token after Invalidate with Redis down returned the rejected token")
	}
}
