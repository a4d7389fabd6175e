package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
)

// recorder keeps the log messages of a test.
type recorder = redistest.LogRecorder

func newLimiter(t *testing.T, client redis.UniversalClient, prefix string) (*Limiter, *recorder) {
	t.Helper()
	rec := &recorder{}
	l, err := New(Config{Redis: client, Prefix: prefix, Logger: slog.New(rec)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, rec
}

// fakeClock drives the in-memory limiter, so windows need no sleeps.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func TestNewRequiresLogger(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a Logger succeeded, want an error")
	}
}

func TestAllowRejectsInvalidRate(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	for _, perSecond := range []int{0, -1} {
		_, err := l.Allow(context.Background(), "dest", perSecond)
		if !errors.Is(err, ErrInvalidRate) {
			t.Errorf("Allow(perSecond=%d) error = %v, want ErrInvalidRate", perSecond, err)
		}
	}
}

// TestMemoryAllowsRateOverWindow follows every RetryAfter exactly on a
// fake clock. At 10/s, the burst of 10 goes at once and one more call
// every 100ms, so the window up to 2.05s holds 10 + 20 calls.
func TestMemoryAllowsRateOverWindow(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l.now = clock.Now
	ctx := context.Background()
	end := clock.now.Add(2*time.Second + 50*time.Millisecond)

	allowed := 0
	for clock.now.Before(end) {
		res, err := l.Allow(ctx, "dest", 10)
		if err != nil {
			t.Fatal(err)
		}
		if res.Fallback {
			t.Fatal("Fallback = true without Redis configured")
		}
		if res.Allowed {
			allowed++
			continue
		}
		if res.RetryAfter <= 0 || res.RetryAfter > 100*time.Millisecond {
			t.Fatalf("RetryAfter = %v, want in (0, 100ms]", res.RetryAfter)
		}
		clock.Advance(res.RetryAfter)
	}

	if allowed != 30 {
		t.Errorf("allowed %d calls in 2.05s at 10/s with a burst of 10, want 30", allowed)
	}
}

func TestMemoryKeysAreIndependent(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l.now = clock.Now
	ctx := context.Background()

	for range 2 {
		if res, _ := l.Allow(ctx, "a", 2); !res.Allowed {
			t.Fatal("Allow(a) within the burst was denied")
		}
	}
	if res, _ := l.Allow(ctx, "a", 2); res.Allowed {
		t.Error("Allow(a) past the burst was allowed")
	}
	if res, _ := l.Allow(ctx, "b", 2); !res.Allowed {
		t.Error("Allow(b) was denied by the budget of a")
	}
}

func TestMemoryRateChange(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l.now = clock.Now
	ctx := context.Background()

	if res, _ := l.Allow(ctx, "dest", 1); !res.Allowed {
		t.Fatal("first Allow at 1/s was denied")
	}
	res, _ := l.Allow(ctx, "dest", 1)
	if res.Allowed {
		t.Fatal("second Allow at 1/s was allowed")
	}

	clock.Advance(time.Second)
	allowed := 0
	for range 10 {
		if res, _ := l.Allow(ctx, "dest", 5); res.Allowed {
			allowed++
		}
	}
	if allowed < 1 || allowed > 5 {
		t.Errorf("after raising the rate to 5/s, allowed %d of 10, want 1 to 5", allowed)
	}
}

func TestMemorySweepsIdleKeys(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l.now = clock.Now
	ctx := context.Background()

	l.Allow(ctx, "old", 1)
	clock.Advance(idleAfter)
	l.Allow(ctx, "new", 1)

	if _, ok := l.memory.limiters["old"]; ok {
		t.Error("idle key old is still kept")
	}
	if _, ok := l.memory.limiters["new"]; !ok {
		t.Error("key new is missing")
	}
}

func TestWaitPacesCalls(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	ctx := context.Background()
	start := time.Now()

	// A burst of 50, then 10 more at 50/s: at least 200ms.
	for range 60 {
		if err := l.Wait(ctx, "dest", 50); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}

	if elapsed := time.Since(start); elapsed < 180*time.Millisecond {
		t.Errorf("60 calls at 50/s took %v, want at least about 200ms", elapsed)
	}
}

func TestWaitStopsWithContext(t *testing.T) {
	l, _ := newLimiter(t, nil, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	if err := l.Wait(ctx, "dest", 1); err != nil {
		t.Fatalf("first Wait: %v", err)
	}
	err := l.Wait(ctx, "dest", 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past the deadline = %v, want context.DeadlineExceeded", err)
	}
}

func TestRedisLimitsBurst(t *testing.T) {
	client, prefix := redistest.Client(t)
	l, _ := newLimiter(t, client, prefix)
	ctx := context.Background()

	// Ten calls take a few milliseconds against a local Redis, far less
	// than the 200ms that one more token takes at 5/s.
	allowed := 0
	var retryAfter time.Duration
	for range 10 {
		res, err := l.Allow(ctx, "dest", 5)
		if err != nil {
			t.Fatal(err)
		}
		if res.Fallback {
			t.Fatal("Fallback = true with Redis up")
		}
		if res.Allowed {
			allowed++
		} else {
			retryAfter = res.RetryAfter
		}
	}

	if allowed != 5 {
		t.Errorf("allowed %d of 10 calls at 5/s, want 5", allowed)
	}
	if retryAfter <= 0 || retryAfter > 200*time.Millisecond {
		t.Errorf("RetryAfter = %v, want in (0, 200ms]", retryAfter)
	}
}

func TestRedisSharedBetweenLimiters(t *testing.T) {
	client, prefix := redistest.Client(t)
	first, _ := newLimiter(t, client, prefix)
	second, _ := newLimiter(t, client, prefix)
	ctx := context.Background()

	allowed := map[string]int{}
	var retryAfter time.Duration
	for i := range 10 {
		l, name := first, "first"
		if i%2 == 1 {
			l, name = second, "second"
		}
		res, err := l.Allow(ctx, "dest", 4)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed {
			allowed[name]++
		} else {
			retryAfter = res.RetryAfter
		}
	}

	if total := allowed["first"] + allowed["second"]; total != 4 {
		t.Errorf("two limiters allowed %d calls in total at 4/s, want 4 (%v)", total, allowed)
	}

	// After the RetryAfter that one of them returned, the shared budget
	// has room again for either limiter.
	time.Sleep(retryAfter)
	res, err := second.Allow(ctx, "dest", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Allowed {
		t.Errorf("Allow after RetryAfter %v was denied, retry after %v", retryAfter, res.RetryAfter)
	}
}

func TestRedisDownFallsBackToMemory(t *testing.T) {
	l, rec := newLimiter(t, redistest.Unreachable(t), "")
	ctx := context.Background()

	allowed := 0
	for range 20 {
		res, err := l.Allow(ctx, "dest", 5)
		if err != nil {
			t.Fatalf("Allow with Redis down: %v", err)
		}
		if !res.Fallback {
			t.Fatal("Fallback = false with Redis down")
		}
		if res.Allowed {
			allowed++
		}
	}

	if allowed < 5 || allowed > 6 {
		t.Errorf("allowed %d of 20 calls at 5/s in memory, want 5 or 6", allowed)
	}
	if n := rec.Count("rate limit redis unavailable, limiting per process"); n != 1 {
		t.Errorf("got %d warnings, want 1", n)
	}
}

func TestRedisDownRetriesAfterInterval(t *testing.T) {
	l, _ := newLimiter(t, redistest.Unreachable(t), "")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l.now = clock.Now

	l.Allow(context.Background(), "dest", 5)
	if l.redisUp(clock.now) {
		t.Fatal("redisUp right after a failure = true, want false")
	}
	clock.Advance(DefaultRetryAfter)
	if !l.redisUp(clock.now) {
		t.Error("redisUp after RetryAfter = false, want true")
	}
}
