package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/ratelimit"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// MaxTimeout caps a destination's timeout, as config does. The ack
// wait of the consumer exceeds it.
const MaxTimeout = 60 * time.Second

// DefaultRateLimit is the invocation rate limit per second of a
// destination that sets none.
const DefaultRateLimit = 300

// rateWaitBudget bounds how long a worker holds a task while the rate
// limit makes it wait. Past it the task goes back to JetStream, so a
// destination with a low rate does not keep global slots busy.
const rateWaitBudget = 5 * time.Second

// BreakerConfig sets the circuit breaker of each destination. Zero
// fields take the defaults.
type BreakerConfig struct {
	// Failures is the run of consecutive failures (timeouts, connection
	// errors, 5xx, 429) that opens a breaker.
	Failures int
	// CoolDown is how long an open breaker holds tasks back before it
	// lets one probe call through. It doubles after each failed probe.
	CoolDown time.Duration
	// MaxCoolDown caps the doubled cool-down.
	MaxCoolDown time.Duration
}

func (c *BreakerConfig) setDefaults() {
	setDefault(&c.Failures, DefaultBreakerFailures)
	setDefault(&c.CoolDown, DefaultBreakerCoolDown)
	setDefault(&c.MaxCoolDown, DefaultBreakerMaxCoolDown)
}

// flowControl decides whether a task may call its destination now: the
// destination's circuit breaker must let it through, then its rate
// limit. Neither wait counts as an attempt, because attempts are
// counted from the delivery record.
//
// Breakers live in each replica's memory, and each replica decides from
// its own calls. A replica publishes every state change of a breaker to
// the circuits bucket, keyed by destination, where config reads it for
// display. The bucket thus shows the latest change made by any replica,
// and replicas do not read it back.
type flowControl struct {
	log      *slog.Logger
	breakers *breakers
	limiter  *ratelimit.Limiter
	circuits jetstream.KeyValue
	topology streams.Topology
	// started is when this process began. Circuit states published
	// before it may come from a replica that no longer runs.
	started time.Time

	mu sync.Mutex
	// checked holds the destinations whose published state this
	// process has compared with its own after a success.
	checked map[string]bool
}

func newFlowControl(ctx context.Context, cfg Config, js jetstream.JetStream) (*flowControl, error) {
	cfg.Breaker.setDefaults()
	limiter, err := ratelimit.New(ratelimit.Config{
		Redis:  redisClient(cfg),
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	circuits, err := js.KeyValue(ctx, cfg.Topology.Bucket(streams.BucketCircuits))
	if err != nil {
		return nil, fmt.Errorf("delivery: open circuits bucket: %w", err)
	}
	b := cfg.Breaker
	return &flowControl{
		log:      cfg.Logger,
		breakers: newBreakers(b.Failures, b.CoolDown, b.MaxCoolDown, time.Now),
		limiter:  limiter,
		circuits: circuits,
		topology: cfg.Topology,
		started:  time.Now(),
		checked:  map[string]bool{},
	}, nil
}

// redisClient returns cfg.Redis as the limiter's interface, or nil
// when no Redis is set, because a nil *redis.Client in an interface is
// not a nil interface.
func redisClient(cfg Config) redis.UniversalClient {
	if cfg.Redis == nil {
		return nil
	}
	return cfg.Redis
}

// admit returns true when the task of d may call its destination now.
// Otherwise it has returned the message to JetStream to wait.
func (s *Service) admit(ctx context.Context, d *delivery, r *internalv1.ResolvedDestination) bool {
	dest := d.task.GetApiDestination()
	ok, wait, change := s.flow.breakers.allow(dest)
	s.flow.publish(change)
	if !ok {
		d.log.Debug("circuit open; task waits", "delay", wait)
		returnToWait(d, wait)
		return false
	}

	if s.waitForRate(ctx, d, r) {
		return true
	}
	s.flow.breakers.release(dest)
	return false
}

// waitForRate takes a call from the destination's rate limit, waiting
// in the worker up to rateWaitBudget. It returns false when the message
// went back to JetStream instead.
//
// NOTE: one call is counted per attempt. The extra calls of an attempt
// (a crumb request and the call sent again after a crumb 403, or the
// call after a rejected credential) are not counted.
func (s *Service) waitForRate(ctx context.Context, d *delivery, r *internalv1.ResolvedDestination) bool {
	rate := int(r.GetApiDestination().GetInvocationRateLimitPerSecond())
	if rate <= 0 {
		rate = DefaultRateLimit
	}
	key := s.flow.topology.DeliveriesSubject(d.task.GetApiDestination())
	deadline := time.Now().Add(rateWaitBudget)

	for {
		res, err := s.flow.limiter.Allow(ctx, key, rate)
		if err != nil {
			// Only a cancelled context gets here, since rate >= 1.
			nak(s.log, d.job)
			return false
		}
		if res.Allowed {
			return true
		}
		if time.Now().Add(res.RetryAfter).After(deadline) {
			d.log.Debug("rate limit reached; task waits", "delay", res.RetryAfter)
			returnToWait(d, res.RetryAfter)
			return false
		}
		if !sleep(ctx, res.RetryAfter) {
			nak(s.log, d.job)
			return false
		}
	}
}

// recordCircuit feeds the outcome of the last attempt to the
// destination's breaker.
func (s *Service) recordCircuit(d *delivery, last attemptResult) {
	sig := breakerSignal(last.status, last.outcome)
	dest := d.task.GetApiDestination()
	change := s.flow.breakers.record(dest, sig, last.outcome.Reason)
	s.flow.publish(change)
	if sig == signalSuccess && change == nil {
		s.flow.correctStale(dest)
	}
}

// correctStale publishes CLOSED for dest once per process when the
// bucket shows it open or half-open since before this process started.
// That happens after every replica restarted, and then no running
// breaker holds the state any more. A state published after this
// process started is left alone.
//
// NOTE: a peer that opened its breaker before this process started and
// still holds it open is shown CLOSED until its next state change.
func (f *flowControl) correctStale(dest string) {
	f.mu.Lock()
	done := f.checked[dest]
	f.checked[dest] = true
	f.mu.Unlock()
	if done {
		return
	}

	ctx, cancel := bookkeepingContext()
	defer cancel()
	entry, err := f.circuits.Get(ctx, dest)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	published := &v1.ApiDestination{}
	if err == nil {
		err = proto.Unmarshal(entry.Value(), published)
	}
	if err != nil {
		f.log.Debug("read circuit state failed", "destination", dest, "error", err)
		return
	}
	stale := published.GetCircuitChangeTime().AsTime().Before(f.started)
	if published.GetCircuitState() == v1.CircuitState_CIRCUIT_STATE_CLOSED || !stale {
		return
	}
	f.publish(&circuitChange{
		destination: dest, from: published.GetCircuitState(),
		to: v1.CircuitState_CIRCUIT_STATE_CLOSED, time: time.Now(),
		reason: "call succeeded; the published state predates this replica's start",
	})
}

// publish logs a breaker's state change and stores it in the circuits
// bucket. A failed store is logged: the breaker works without it.
func (f *flowControl) publish(c *circuitChange) {
	if c == nil {
		return
	}
	attrs := []any{"destination", c.destination, "from", stateName(c.from),
		"to", stateName(c.to), "reason", c.reason}
	if c.to == v1.CircuitState_CIRCUIT_STATE_OPEN {
		f.log.Warn("circuit breaker state changed", attrs...)
	} else {
		f.log.Info("circuit breaker state changed", attrs...)
	}

	value, err := proto.Marshal(&v1.ApiDestination{
		Name:              c.destination,
		CircuitState:      c.to,
		CircuitReason:     c.reason,
		CircuitChangeTime: timestamppb.New(c.time),
	})
	if err != nil {
		f.log.Warn("encode circuit state failed", "destination", c.destination, "error", err)
		return
	}
	ctx, cancel := bookkeepingContext()
	defer cancel()
	if _, err := f.circuits.Put(ctx, c.destination, value); err != nil {
		f.log.Warn("store circuit state failed", "destination", c.destination, "error", err)
	}
}

// stateName returns a state as the CLI shows it, such as HALF_OPEN.
func stateName(s v1.CircuitState) string {
	return strings.TrimPrefix(s.String(), "CIRCUIT_STATE_")
}

// returnToWait hands a task back to JetStream for about delay, jittered
// up by a quarter so waiting tasks do not all return at once.
func returnToWait(d *delivery, delay time.Duration) {
	delay += time.Duration(rand.Int64N(int64(delay)/4 + 1))
	if err := d.msg.NakWithDelay(delay); err != nil {
		d.log.Warn("return message failed", "error", err)
	}
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// onChange resets the breaker of a destination that config changed or
// deleted, because the change may be the fix, such as a corrected URL.
// A deleted destination's entry in the circuits bucket is left for
// config to remove.
func (f *flowControl) onChange(data []byte) {
	ch := &internalv1.ConfigChange{}
	if err := proto.Unmarshal(data, ch); err != nil {
		return
	}
	if ch.GetKind() != internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION {
		return
	}
	change := f.breakers.reset(ch.GetName(), "destination changed in config")
	if change != nil && !ch.GetDeleted() {
		f.publish(change)
	}
}
