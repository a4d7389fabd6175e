// Package delivery is Switchyard's delivery service. It consumes the
// tasks that the rule engine puts on the DELIVERIES stream, calls each
// task's API destination over HTTP, records every attempt, retries
// through JetStream with backoff and dead-letters what fails for good.
//
// Delivery is at least once. A task is acked only after its call
// succeeded or its dead letter was stored, so a crash may repeat a call
// but does not lose the task. The exception is a message that does not
// decode as a task, which is terminated.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	"github.com/switchyard-dev/switchyard/services/delivery/auth"
)

// ConsumerName is the durable consumer on the DELIVERIES stream that
// every replica shares.
const ConsumerName = "delivery"

// ackWait exceeds the longest destination timeout (60 s) with room for
// resolving the destination and recording the outcome.
const ackWait = 90 * time.Second

// extendAfter is the age of a message past which an attempt first sends
// InProgress, so the call and its bookkeeping still fit in the ack wait.
// A younger message is not extended, which saves a message to the
// server on every delivery.
const extendAfter = ackWait - MaxTimeout - bookkeepingTimeout - 5*time.Second

// attemptLogInterval is the least time between two log lines of failed
// attempts of one destination. The delivery records and dead letters
// keep every attempt.
const attemptLogInterval = 10 * time.Second

// bookkeepingTimeout bounds recording, dead-lettering and acking after
// an attempt. It runs even while the service stops, so a finished call
// is not repeated.
const bookkeepingTimeout = 10 * time.Second

// Defaults of Config.
const (
	DefaultConcurrency              = 256
	DefaultDestinationConcurrency   = 50
	DefaultMaxWaitingPerDestination = 100
	DefaultMaxWaiting               = 2000
	DefaultCapacityDelay            = time.Second
	DefaultResolveRetryDelay        = 5 * time.Second
	DefaultMaxRetryAfter            = 10 * time.Minute
	DefaultCacheTTL                 = 5 * time.Minute
	DefaultShutdownTimeout          = 30 * time.Second
	DefaultTimeout                  = 5 * time.Second
)

// Config configures a Service. Zero durations and counts take the
// defaults above.
type Config struct {
	// NATS is required. The service does not close it.
	NATS     *nats.Conn
	Topology streams.Topology
	// Logger is required.
	Logger *slog.Logger
	// Resolver returns destinations with their credentials; required.
	Resolver Resolver
	// StreamOptions size the streams that New ensures.
	StreamOptions streams.Options

	// AllowMetadata lets connections reach cloud metadata addresses,
	// which every connection rejects otherwise.
	AllowMetadata bool
	// Version goes into the User-Agent header, "switchyard/<version>".
	// Empty means "dev".
	Version string

	// Concurrency bounds the HTTP calls in flight across destinations.
	Concurrency int
	// DestinationConcurrency bounds the calls in flight to a destination
	// whose max_concurrency is zero.
	DestinationConcurrency int
	// MaxWaiting bounds the messages held in memory while their
	// destination is at capacity. Each destination in use may hold an
	// equal share of it, and at least MaxWaitingPerDestination. Beyond
	// that, messages go back to JetStream for CapacityDelay (jittered
	// between half and all of it).
	MaxWaitingPerDestination int
	MaxWaiting               int
	CapacityDelay            time.Duration
	// ResolveRetryDelay is how long a task waits when config cannot be
	// reached. The wait does not count as an attempt.
	ResolveRetryDelay time.Duration
	// MaxRetryAfter caps the delay that an endpoint's Retry-After header
	// can ask for.
	MaxRetryAfter time.Duration
	// CacheTTL bounds how long a resolved destination is used without a
	// change notice.
	CacheTTL time.Duration
	// ShutdownTimeout bounds how long Run waits for calls in flight when
	// it stops. Calls still running then are cancelled and their tasks
	// returned to the stream without counting an attempt.
	ShutdownTimeout time.Duration

	Redis *redis.Client // nil means in-memory caches and limits
	// InternalToken is the token the Resolver presents to config. It is
	// required with Redis, because the key that seals credentials and
	// OAuth tokens in Redis derives from it (see CacheKey).
	InternalToken string
	// Breaker sets the circuit breaker of each destination.
	Breaker BreakerConfig
	// Telemetry provides the tracer and the meter. Nil means the
	// OpenTelemetry globals.
	Telemetry *telemetry.Telemetry
}

func (c *Config) setDefaults() {
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.DestinationConcurrency, DefaultDestinationConcurrency)
	setDefault(&c.MaxWaitingPerDestination, DefaultMaxWaitingPerDestination)
	setDefault(&c.MaxWaiting, DefaultMaxWaiting)
	setDefault(&c.CapacityDelay, DefaultCapacityDelay)
	setDefault(&c.ResolveRetryDelay, DefaultResolveRetryDelay)
	setDefault(&c.MaxRetryAfter, DefaultMaxRetryAfter)
	setDefault(&c.CacheTTL, DefaultCacheTTL)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Version == "" {
		c.Version = "dev"
	}
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Validate reports the first missing or invalid field.
func (c *Config) Validate() error {
	switch {
	case c.NATS == nil:
		return errors.New("delivery: Config.NATS is required")
	case c.Logger == nil:
		return errors.New("delivery: Config.Logger is required")
	case c.Resolver == nil:
		return errors.New("delivery: Config.Resolver is required")
	}
	return nil
}

// Service delivers tasks. Create it with New and start it with Run.
type Service struct {
	cfg       Config
	log       *slog.Logger
	js        jetstream.JetStream
	consumer  jetstream.Consumer
	records   *records.Store
	cache     *destinationCache
	clients   *clients
	signer    *auth.Signer
	states    *connectionStates
	userAgent string
	// sched is set by Run before the first task is handled.
	sched  *scheduler
	flow   *flowControl
	crumbs *crumbs
	obs    *observer
	// throttledLogs limits the lines of failed attempts per destination,
	// which a failing endpoint would otherwise repeat for every task, and
	// of failed fetches.
	throttledLogs logthrottle.Limiter
}

// New validates cfg, ensures the streams and creates or updates the
// durable consumer.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	js, err := jetstream.New(cfg.NATS)
	if err != nil {
		return nil, fmt.Errorf("delivery: jetstream: %w", err)
	}
	if err := streams.Ensure(ctx, js, cfg.Topology, cfg.StreamOptions); err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	store, err := records.Open(ctx, js, cfg.Topology)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	flow, err := newFlowControl(ctx, cfg, js)
	if err != nil {
		return nil, err
	}

	creds, err := newCredentials(ctx, cfg, js)
	if err != nil {
		return nil, err
	}

	consumer, err := js.CreateOrUpdateConsumer(ctx, cfg.Topology.Stream(streams.Deliveries),
		consumerConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("delivery: create consumer %s: %w", ConsumerName, err)
	}

	obs, err := newObserver(cfg, consumer, flow.breakers)
	if err != nil {
		return nil, err
	}

	httpClients := newClients(cfg)
	userAgent := "switchyard/" + cfg.Version
	return &Service{
		cfg:       cfg,
		log:       cfg.Logger,
		js:        js,
		consumer:  consumer,
		records:   store,
		cache:     creds.destinationCache(cfg),
		clients:   httpClients,
		signer:    creds.signer,
		states:    creds.states,
		userAgent: userAgent,
		flow:      flow,
		crumbs:    newCrumbs(),
		obs:       obs,

		throttledLogs: logthrottle.Limiter{Interval: attemptLogInterval},
	}, nil
}

// maxHeldBack bounds the tasks that wait in JetStream after a delayed
// nak: for an open circuit, a rate limit, a full destination or a retry
// backoff. Such a task stays pending on the consumer until it comes
// back, so MaxAckPending must leave room for all of them, or the tasks
// of one failing destination would stop the consumer for every other
// destination. Each costs the server a small entry, not the message.
//
// TODO: a durable consumer per destination would isolate destinations
// for good. With one shared consumer, tasks past this bound stall the
// others again, and tasks sent back for capacity come round every
// CapacityDelay, which costs CPU when a slow destination has a backlog
// of many thousands.
const maxHeldBack = 20_000

// consumerConfig leaves MaxDeliver unlimited because the retry policy
// of each task decides when to stop. MaxAckPending covers every message
// the service may hold (running, waiting and buffered by the fetch)
// plus the tasks held back in JetStream.
func consumerConfig(cfg Config) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "Switchyard delivery workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: cfg.Concurrency + cfg.MaxWaiting + fetchBatch(cfg) + maxHeldBack,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

func fetchBatch(cfg Config) int {
	return max(cfg.Concurrency/2, 1)
}

// Run delivers tasks until ctx is cancelled. It then stops fetching,
// returns waiting and buffered messages to the stream, and waits up to
// ShutdownTimeout for calls in flight. It returns nil on a clean stop,
// also when ctx ends before delivering starts.
func (s *Service) Run(ctx context.Context) error {
	changes, err := streams.WatchChanges(ctx, s.js, s.cfg.Topology, func(data []byte) {
		s.cache.onChange(data)
		s.flow.onChange(data)
	})
	if err != nil {
		if ctx.Err() != nil {
			// A stop during start-up is a clean stop, not a failure.
			return nil
		}
		return fmt.Errorf("delivery: %w", err)
	}
	defer changes.Stop()
	defer s.clients.close()

	it, err := s.consumer.Messages(jetstream.PullMaxMessages(fetchBatch(s.cfg)),
		jetstream.PullExpiry(streams.PullExpiry), jetstream.PullHeartbeat(streams.PullHeartbeat))
	if err != nil {
		return fmt.Errorf("delivery: consume: %w", err)
	}

	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	sched := newScheduler(s.cfg, s.handle, s.destinationLimit)
	s.sched = sched
	go sched.keepAlive(ctx, ackWait/3)
	fetchDone := make(chan struct{})
	go stopFetching(ctx, it, fetchDone)

	s.log.Info("delivery started", "consumer", ConsumerName,
		"stream", s.cfg.Topology.Stream(streams.Deliveries))
	go s.obs.lag.Poll(ctx)
	s.fetch(ctx, workCtx, it, sched)
	close(fetchDone)

	sched.stop()
	if !sched.wait(s.cfg.ShutdownTimeout) {
		s.log.Warn("delivery calls still running at shutdown timeout; cancelling them")
		cancelWork()
		sched.wait(bookkeepingTimeout)
	}
	s.log.Info("delivery stopped")
	return nil
}

// stopFetching drains the iterator once ctx ends, so its buffered
// messages reach fetch and go back to the stream, and stops it when the
// drain does not finish in time, as when NATS is unreachable.
func stopFetching(ctx context.Context, it jetstream.MessagesContext, fetchDone <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-fetchDone:
		return
	}
	it.Drain()
	select {
	case <-fetchDone:
	case <-time.After(bookkeepingTimeout):
		it.Stop()
	}
}

// fetch passes messages to the scheduler until the iterator closes.
// After ctx ends, the messages still buffered go back to the stream.
func (s *Service) fetch(ctx, workCtx context.Context, it jetstream.MessagesContext, sched *scheduler) {
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return
		}
		if err != nil {
			// Missed heartbeats repeat every few seconds under some
			// loads, so the line is throttled.
			s.throttledLogs.Log(ctx, s.log, slog.LevelWarn, "fetch", "fetch deliveries failed",
				"error", err)
			continue
		}

		j, ok := s.decode(msg)
		if !ok {
			continue
		}
		if ctx.Err() != nil {
			nak(s.log, j)
			continue
		}
		dest := j.task.GetApiDestination()
		sched.submit(ctx, workCtx, dest, j)
	}
}

// destinationLimit returns the concurrency limit of a destination: its
// max_concurrency, the default when that is zero, or one while the
// destination is not cached and its limit is unknown.
func (s *Service) destinationLimit(dest string) int {
	r := s.cache.peek(dest)
	if r == nil {
		return 1
	}
	if n := r.GetApiDestination().GetMaxConcurrency(); n > 0 {
		return int(n)
	}
	return s.cfg.DestinationConcurrency
}
