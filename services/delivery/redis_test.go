package delivery

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-dev/switchyard/pkg/rediscache"
	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// syncBuffer is a bytes.Buffer that several goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// capturingLogger writes to the test log and to the returned buffer.
func capturingLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	w := io.MultiWriter(testWriter{t}, buf)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func TestCacheKey(t *testing.T) {
	a, err := CacheKey("token-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != rediscache.KeySize {
		t.Errorf("len(CacheKey()) = %d, want %d", len(a), rediscache.KeySize)
	}
	again, _ := CacheKey("token-a")
	if !bytes.Equal(a, again) {
		t.Error("CacheKey(token-a) differs between calls, so replicas could not share values")
	}
	b, _ := CacheKey("token-b")
	if bytes.Equal(a, b) {
		t.Error("CacheKey(token-a) = CacheKey(token-b), want different keys")
	}
	if bytes.Contains(a, []byte("token-a")) {
		t.Error("CacheKey(token-a) contains the token")
	}
	if _, err := CacheKey(""); err == nil {
		t.Error("CacheKey(\"\") = nil error, want one")
	}
}

func TestNewRequiresTokenWithRedis(t *testing.T) {
	h := newHarness(t)
	cfg := h.config()
	cfg.Redis = redistest.Unreachable(t)
	if _, err := New(context.Background(), cfg); err == nil {
		t.Error("New() with Redis and no internal token = nil error, want one")
	}
}

func TestDeliveryWithRedisDown(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	logger, logs := capturingLogger(t)
	cfg.Logger = logger
	cfg.Redis = redistest.Unreachable(t)
	cfg.InternalToken = testInternalToken
	h.start(cfg)

	for _, id := range []string{"ev-redis-down-1", "ev-redis-down-2"} {
		task := newTask("d", id)
		h.publish(task)
		h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	}

	const warning = "redis cache unavailable, using memory only"
	if n := strings.Count(logs.String(), warning); n != 1 {
		t.Errorf("log has %d warnings %q, want 1 (rate-limited)", n, warning)
	}
	if got := h.resolver.callCount("d"); got != 1 {
		t.Errorf("resolver calls = %d, want 1: the memory cache serves the second delivery", got)
	}
}

// sharedCache returns a destination cache over resolver whose shared
// layer uses the Redis server of REDIS_URL under prefix.
func sharedCache(t *testing.T, resolver Resolver, prefix string) *destinationCache {
	t.Helper()
	client, _ := redistest.Client(t)
	key, err := CacheKey(testInternalToken)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := rediscache.New(rediscache.Config{
		Redis: client, EncryptionKey: key, Prefix: prefix, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newDestinationCache(resolver, DefaultCacheTTL)
	c.shared = shared
	return c
}

func TestSharedCacheAcrossReplicas(t *testing.T) {
	client, prefix := redistest.Client(t)
	f := &fakeResolver{dests: map[string]*internalv1.ResolvedDestination{}, calls: map[string]int{}}
	f.set(&v1.ApiDestination{Name: "d"}, basicConnection(v1.Network_NETWORK_PRIVATE))
	ctx := context.Background()

	first := sharedCache(t, f, prefix)
	if _, err := first.get(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	keys := redistest.Keys(t, client, prefix+"*")
	if len(keys) != 2 {
		t.Fatalf("redis keys = %q, want the destination and the connection", keys)
	}
	for _, k := range keys {
		raw, err := client.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("s3cret-token")) {
			t.Errorf("redis value of %s holds the password in the clear", k)
		}
	}

	second := sharedCache(t, f, prefix)
	r, err := second.get(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.GetConnection().GetBasic().GetPassword(); got != "s3cret-token" {
		t.Errorf("password from the shared cache = %q, want s3cret-token", got)
	}
	if got := f.callCount("d"); got != 1 {
		t.Errorf("resolver calls = %d, want 1: the second replica reads Redis", got)
	}

	second.apply(&internalv1.ConfigChange{
		Kind: internalv1.ChangeKind_CHANGE_KIND_CONNECTION, Name: "conn1"})
	if keys := redistest.Keys(t, client, prefix+"conn:*"); len(keys) != 0 {
		t.Errorf("redis keys after a connection change = %q, want the connection dropped", keys)
	}
	third := sharedCache(t, f, prefix)
	if _, err := third.get(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if got := f.callCount("d"); got != 2 {
		t.Errorf("resolver calls = %d, want 2: a changed connection is resolved again", got)
	}
}
