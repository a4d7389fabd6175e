package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// circuitOf returns the circuit state that delivery published for
// dest, or nil when there is none.
func (h *harness) circuitOf(dest string) *v1.ApiDestination {
	h.t.Helper()
	kv, err := h.js.KeyValue(context.Background(), h.nats.Topology.Bucket(streams.BucketCircuits))
	if err != nil {
		h.t.Fatalf("open circuits bucket: %v", err)
	}
	entry, err := kv.Get(context.Background(), dest)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatalf("read circuit of %s: %v", dest, err)
	}
	out := &v1.ApiDestination{}
	if err := proto.Unmarshal(entry.Value(), out); err != nil {
		h.t.Fatalf("decode circuit of %s: %v", dest, err)
	}
	return out
}

func (h *harness) waitCircuit(dest string, want v1.CircuitState) *v1.ApiDestination {
	h.t.Helper()
	var last *v1.ApiDestination
	if !poll(10*time.Second, func() bool {
		last = h.circuitOf(dest)
		return last.GetCircuitState() == want
	}) {
		h.t.Fatalf("circuit of %s = %v, want %v", dest, last.GetCircuitState(), want)
	}
	return last
}

func TestCircuitOpensAndRecovers(t *testing.T) {
	h := newHarness(t)
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("flaky", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	cfg.Breaker = BreakerConfig{Failures: 3, CoolDown: time.Second}
	h.start(cfg)

	task := newTask("flaky", "ev-circuit")
	h.publish(task)

	opened := h.waitCircuit("flaky", v1.CircuitState_CIRCUIT_STATE_OPEN)
	down.Store(false)
	if opened.GetCircuitReason() == "" || opened.GetCircuitChangeTime() == nil {
		t.Errorf("open circuit = %v, want a reason and a change time", opened)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("calls when the circuit opened = %d, want 3", got)
	}

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	// Without the breaker, a 10 to 20 ms backoff would make dozens of
	// attempts during the one second cool-down.
	if n := len(rec.GetAttempts()); n != 4 {
		t.Errorf("record has %d attempts, want 4: 3 failures and the probe", n)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("endpoint saw %d requests, want 4", got)
	}
	h.waitCircuit("flaky", v1.CircuitState_CIRCUIT_STATE_CLOSED)
}

func TestCircuitPerDestination(t *testing.T) {
	h := newHarness(t)
	down := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	up := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("down", down.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.resolver.set(destination("up", up.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	cfg.Breaker = BreakerConfig{Failures: 2, CoolDown: time.Minute}
	h.start(cfg)

	h.publish(newTask("down", "ev-down"))
	h.waitCircuit("down", v1.CircuitState_CIRCUIT_STATE_OPEN)

	task := newTask("up", "ev-up")
	h.publish(task)
	h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if c := h.circuitOf("up"); c != nil {
		t.Errorf("circuit of up = %v, want none published", c)
	}
}

func TestCircuitResetByConfigChange(t *testing.T) {
	h := newHarness(t)
	down := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	h.resolver.set(destination("down", down.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	cfg.Breaker = BreakerConfig{Failures: 1, CoolDown: time.Hour}
	h.start(cfg)

	// One attempt only, so no retry opens the circuit again.
	task := newTask("down", "ev-down")
	task.RetryPolicy.MaxAttempts = proto.Int32(0)
	h.publish(task)
	h.waitCircuit("down", v1.CircuitState_CIRCUIT_STATE_OPEN)

	data, err := proto.Marshal(&internalv1.ConfigChange{
		Kind: internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, Name: "down",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.nc.Publish(h.nats.Topology.ChangesSubject(), data); err != nil {
		t.Fatal(err)
	}
	closed := h.waitCircuit("down", v1.CircuitState_CIRCUIT_STATE_CLOSED)
	if closed.GetCircuitReason() != "destination changed in config" {
		t.Errorf("reason = %q, want the config change", closed.GetCircuitReason())
	}
}

// callTimes records when an endpoint was called.
type callTimes struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *callTimes) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.times = append(c.times, time.Now())
}

func (c *callTimes) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.times)
}

// span returns the time from the first call to the last.
func (c *callTimes) span() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	sorted := append([]time.Time(nil), c.times...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	return sorted[len(sorted)-1].Sub(sorted[0])
}

// rateLimited publishes tasks to a destination limited to rate calls a
// second and returns when the endpoint was called. It checks that
// waiting for the rate limit made no attempt.
func rateLimited(t *testing.T, h *harness, rate, tasks int, cfgs ...Config) *callTimes {
	calls := &callTimes{}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.add()
		w.WriteHeader(http.StatusOK)
	})
	dest := destination("limited", srv.URL)
	dest.InvocationRateLimitPerSecond = int32(rate)
	h.resolver.set(dest, basicConnection(v1.Network_NETWORK_PRIVATE))
	for _, cfg := range cfgs {
		h.start(cfg)
	}

	var all []*internalv1.DeliveryTask
	for i := range tasks {
		task := newTask("limited", fmt.Sprintf("ev-rate-%d", i))
		all = append(all, task)
		h.publish(task)
	}
	for _, task := range all {
		rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
		if n := len(rec.GetAttempts()); n != 1 {
			t.Errorf("record of %s has %d attempts, want 1: waiting is no attempt",
				task.GetEventId(), n)
		}
	}
	if got := calls.count(); got != tasks {
		t.Fatalf("endpoint saw %d requests, want %d", got, tasks)
	}
	return calls
}

func TestRateLimitInMemory(t *testing.T) {
	h := newHarness(t)
	// A burst of 4, then 4 a second: 12 calls need at least 2 s.
	calls := rateLimited(t, h, 4, 12, h.config())
	if got := calls.span(); got < 1800*time.Millisecond {
		t.Errorf("12 calls at 4/s took %v, want at least 2 s", got)
	}
}

func TestRateLimitSharedThroughRedis(t *testing.T) {
	client, _ := redistest.Client(t)
	h := newHarness(t)
	replica := h.config()
	replica.Redis = client
	replica.InternalToken = "test-internal-token"
	// Small limits make both replicas hold tasks at once.
	replica.Concurrency = 2
	replica.MaxWaitingPerDestination = 1
	replica.MaxWaiting = 1
	replica.CapacityDelay = 50 * time.Millisecond
	// Two replicas share one budget: a burst of 4, then 4 a second, so
	// 16 calls need at least 3 s. Limited each on its own, they would
	// take half that.
	calls := rateLimited(t, h, 4, 16, replica, replica)
	if got := calls.span(); got < 2700*time.Millisecond {
		t.Errorf("16 calls at 4/s over two replicas took %v, want at least 3 s", got)
	}
}

func TestFastDestinationNotSlowedBySlow(t *testing.T) {
	const tasks = 10
	h := newHarness(t)
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	})
	fast := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	slowDest := destination("slow", slow.URL)
	slowDest.MaxConcurrency = 2
	h.resolver.set(slowDest, basicConnection(v1.Network_NETWORK_PRIVATE))
	h.resolver.set(destination("fast", fast.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	cfg.Concurrency = 8
	h.start(cfg)

	// The slow tasks go first, so the fast ones arrive behind them.
	for i := range tasks {
		h.publish(newTask("slow", fmt.Sprintf("ev-slow-%d", i)))
	}
	start := time.Now()
	var fastTasks []*internalv1.DeliveryTask
	for i := range tasks {
		task := newTask("fast", fmt.Sprintf("ev-fast-%d", i))
		fastTasks = append(fastTasks, task)
		h.publish(task)
	}
	for _, task := range fastTasks {
		h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	}
	// Five rounds of 2 s calls hold the slow tasks for 10 s. Fast tasks
	// that waited for even one slow call would take 2 s.
	if got := time.Since(start); got > 1500*time.Millisecond {
		t.Errorf("fast deliveries took %v behind a 2 s destination, want under 1.5 s", got)
	}
}

func TestAckWaitExceedsHeldTime(t *testing.T) {
	cfg := Config{}
	cfg.setDefaults()
	got := consumerConfig(cfg).AckWait
	// Right before a call, a worker sends InProgress unless the message
	// is younger than extendAfter, then holds it for the call and the
	// bookkeeping after it.
	if need := extendAfter + MaxTimeout + bookkeepingTimeout; got <= need {
		t.Errorf("AckWait = %v, want more than the age not extended, the longest call "+
			"and its bookkeeping, %v", got, need)
	}
	if extendAfter <= 0 {
		t.Errorf("extendAfter = %v, want a positive age", extendAfter)
	}
	// Before that InProgress it resolves the destination, may publish a
	// circuit change and waits for the rate limit.
	if need := resolveTimeout + bookkeepingTimeout + rateWaitBudget; got <= need {
		t.Errorf("AckWait = %v, want more than the work before a call, %v", got, need)
	}
}

func TestCircuitStaleStateCorrected(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("back", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))

	// A replica that has since stopped left the circuit open.
	kv, err := h.js.KeyValue(context.Background(), h.nats.Topology.Bucket(streams.BucketCircuits))
	if err != nil {
		t.Fatal(err)
	}
	stale, err := proto.Marshal(&v1.ApiDestination{
		Name: "back", CircuitState: v1.CircuitState_CIRCUIT_STATE_OPEN,
		CircuitReason:     "5 consecutive failures, the last: HTTP 503",
		CircuitChangeTime: timestamppb.New(time.Now().Add(-time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "back", stale); err != nil {
		t.Fatal(err)
	}
	h.start(h.config())

	task := newTask("back", "ev-back")
	h.publish(task)
	h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	h.waitCircuit("back", v1.CircuitState_CIRCUIT_STATE_CLOSED)
}
