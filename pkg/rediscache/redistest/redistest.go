// Package redistest connects tests to the Redis server named by
// REDIS_URL, giving each test a key prefix of its own and deleting the
// test's keys afterwards. It never flushes the database, because the
// server may be shared.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client returns a client for REDIS_URL and a key prefix unique to the
// test, or skips the test, saying so, when REDIS_URL is not set. The
// test's cleanup deletes every key that contains the prefix and closes
// the client.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("SKIPPED: REDIS_URL is not set, so the test against a real Redis server did not run")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		t.Fatalf("ping redis at REDIS_URL: %v", err)
	}

	prefix := "switchyardtest:" + randomHex(t) + ":"
	t.Cleanup(func() {
		deleteMatching(t, client, "*"+prefix+"*")
		client.Close()
	})
	return client, prefix
}

// Unreachable returns a client for a closed port on 127.0.0.1, so calls
// fail at once with "connection refused", without the retries and dial
// backoff of the go-redis defaults. The test's cleanup closes it.
func Unreachable(t testing.TB) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{
		Addr:          ClosedAddr(t),
		MaxRetries:    -1,
		DialerRetries: 1,
		DialTimeout:   time.Second,
	})
	t.Cleanup(func() { client.Close() })
	return client
}

// Keys returns the keys that match pattern, such as "*"+prefix+"*".
func Keys(t testing.TB, client *redis.Client, pattern string) []string {
	t.Helper()
	var keys []string
	iter := client.Scan(context.Background(), 0, pattern, 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan redis keys %q: %v", pattern, err)
	}
	return keys
}

func deleteMatching(t testing.TB, client *redis.Client, pattern string) {
	keys := Keys(t, client, pattern)
	if len(keys) == 0 {
		return
	}
	if err := client.Del(context.Background(), keys...).Err(); err != nil {
		t.Errorf("delete test keys from redis: %v", err)
	}
}

func randomHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
