// Package ruleengine matches the events of every bus against the rules of
// that bus and publishes one delivery task per matched target.
//
// The service is a durable pull consumer of the EVENTS stream. It keeps
// one compiled matcher per bus, built from the rules that a RuleLister
// returns and rebuilt when config announces a rule change. For each match
// it renders the target's request, creates a pending delivery record and
// publishes a DeliveryTask to deliveries.<destination>. It acknowledges an
// event only after JetStream has stored every task of it, so after a crash
// the event is handled again. The task's message id, derived from event,
// rule and target, lets JetStream drop the repeated task within the
// stream's duplicate window. A second durable consumer matches the
// events that a replay queued on the REPLAY stream (see replay.go).
package ruleengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/tasks"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
)

// ConsumerName is the durable name of the consumer on EVENTS, shared by
// every replica of the rule engine.
const ConsumerName = "ruleengine"

const (
	// publishTimeout bounds the wait for JetStream to store a task.
	publishTimeout = 10 * time.Second
	// recordTimeout bounds the creation of a batch's delivery records.
	recordTimeout = 10 * time.Second
	// ackWait exceeds the longest time a batch is held: its records,
	// then its publishes, plus the time spent waiting in the buffer.
	ackWait = time.Minute
	// maxAckPending bounds the events handed out and not yet acked, for
	// all replicas together. It leaves room for the largest batches.
	maxAckPending = 20000
	// maxPublishPending bounds the task publishes in flight from one
	// service: every worker's largest batch with five targets per rule.
	maxPublishPending = maxWorkers * maxBatchSize * 5
)

// Service is the rule engine. Create it with New and start it with Run.
type Service struct {
	cfg       Config
	js        jetstream.JetStream
	consumer  jetstream.Consumer
	replays   jetstream.Consumer
	records   *records.Store
	changes   jetstream.ConsumeContext
	throttled *throttledLogger

	// rules is swapped whole, so matching never waits for a rebuild.
	rules     atomic.Pointer[ruleSet]
	rebuildMu sync.Mutex
	pending   *pendingReloads

	// maxTaskSize is the largest task message that DELIVERIES stores. It
	// bounds dead letters too, since DEADLETTER has the same limit.
	maxTaskSize int

	stats counters
	obs   *observer
	lag   *telemetry.ConsumerLag
}

// New validates cfg, creates the streams when missing, the durable
// consumer, and subscribes to config change notices. Rules are loaded by
// Run, so New succeeds while the config service is still starting.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	js, err := jetstream.New(cfg.NATS,
		jetstream.WithPublishAsyncMaxPending(maxPublishPending),
		jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		return nil, fmt.Errorf("rule engine: %w", err)
	}
	if err := streams.Ensure(ctx, js, cfg.Topology, cfg.Streams); err != nil {
		return nil, fmt.Errorf("rule engine: %w", err)
	}
	store, err := records.Open(ctx, js, cfg.Topology)
	if err != nil {
		return nil, fmt.Errorf("rule engine: %w", err)
	}
	maxTaskSize, err := tasks.SizeLimit(ctx, js, cfg.NATS, cfg.Topology)
	if err != nil {
		return nil, fmt.Errorf("rule engine: %w", err)
	}
	consumer, err := js.CreateOrUpdateConsumer(ctx, cfg.Topology.Stream(streams.Events),
		consumerConfig(cfg.Topology))
	if err != nil {
		return nil, fmt.Errorf("rule engine: create consumer: %w", err)
	}
	replays, err := createReplayConsumer(ctx, js, cfg.Topology)
	if err != nil {
		return nil, fmt.Errorf("rule engine: %w", err)
	}

	obs, err := newObserver(cfg.Telemetry)
	if err != nil {
		return nil, fmt.Errorf("rule engine: create metrics: %w", err)
	}
	lag := telemetry.NewConsumerLag(consumer, cfg.Topology.Stream(streams.Events), ConsumerName)
	if err := lag.Register(obs.meter); err != nil {
		return nil, fmt.Errorf("rule engine: create metrics: %w", err)
	}

	s := &Service{
		cfg:         cfg,
		obs:         obs,
		lag:         lag,
		js:          js,
		consumer:    consumer,
		replays:     replays,
		records:     store,
		maxTaskSize: maxTaskSize,
		throttled:   newThrottledLogger(cfg.Logger),
		pending:     newPendingReloads(),
	}
	s.stats.obs = obs
	s.rules.Store(&ruleSet{})

	// Watching last leaves nothing to undo when an earlier step fails,
	// and before Run's first load, so no rule write falls between.
	s.changes, err = streams.WatchChanges(ctx, js, cfg.Topology, s.onChange)
	if err != nil {
		return nil, fmt.Errorf("rule engine: %w", err)
	}
	return s, nil
}

func consumerConfig(t streams.Topology) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "Switchyard rule engine: matches events, publishes delivery tasks",
		FilterSubject: t.EventsSubject(">"),
		// Every stored event is matched, including those stored before
		// the consumer first existed.
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxAckPending,
		// Unlimited: an event whose tasks cannot be published yet is
		// retried until they can, rather than dropped.
		MaxDeliver: -1,
	}
}

// Run loads the rules, then matches events until ctx is cancelled. On
// cancellation it stops fetching, finishes the events already fetched
// and returns nil. Run may be called once.
func (s *Service) Run(ctx context.Context) error {
	defer s.changes.Stop()

	if !s.loadInitial(ctx) {
		return nil
	}
	s.cfg.Logger.Info("rule engine started",
		"stream", s.cfg.Topology.Stream(streams.Events), "consumer", ConsumerName,
		"buses", len(s.rules.Load().buses))

	var wg sync.WaitGroup
	wg.Go(func() { s.refreshRules(ctx) })
	wg.Go(func() { s.runReplays(ctx) })
	wg.Go(func() { s.lag.Poll(ctx) })

	events := make(chan jetstream.Msg, s.cfg.BatchSize)
	for range s.cfg.Workers {
		wg.Go(func() { newWorker(s).run(events) })
	}
	s.feed(ctx, events)
	wg.Wait()

	s.cfg.Logger.Info("rule engine stopped")
	return nil
}

// feed passes fetched events to the workers until ctx is cancelled, then
// drains what was fetched and closes events.
func (s *Service) feed(ctx context.Context, events chan<- jetstream.Msg) {
	defer close(events)
	for ctx.Err() == nil {
		it, err := s.consumer.Messages(jetstream.PullMaxMessages(s.cfg.BatchSize*s.cfg.Workers),
			jetstream.PullExpiry(streams.PullExpiry), jetstream.PullHeartbeat(streams.PullHeartbeat))
		if err != nil {
			s.throttled.log(slog.LevelWarn, "consume/start", "starting to consume events failed",
				"error", err)
			sleep(ctx, retryInterval)
			s.recreateConsumer(ctx)
			continue
		}
		stop := context.AfterFunc(ctx, it.Drain)
		s.feedFrom(ctx, it, events)
		stop()
		it.Stop()

		// The iterator closed without a shutdown, for instance because
		// the consumer was deleted: start over after a pause.
		sleep(ctx, retryInterval)
		if ctx.Err() == nil {
			s.recreateConsumer(ctx)
		}
	}
}

// recreateConsumer creates the consumer again, in case it was deleted.
func (s *Service) recreateConsumer(ctx context.Context) {
	consumer, err := s.js.CreateOrUpdateConsumer(ctx, s.cfg.Topology.Stream(streams.Events),
		consumerConfig(s.cfg.Topology))
	if err != nil {
		s.throttled.log(slog.LevelWarn, "consume/create", "creating consumer failed", "error", err)
		return
	}
	s.consumer = consumer
}

// feedFrom passes events from it until it is closed, by a drain on
// shutdown or by an error that the caller recovers from by starting over.
func (s *Service) feedFrom(ctx context.Context, it jetstream.MessagesContext, events chan<- jetstream.Msg) {
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return
		}
		if err != nil {
			s.throttled.log(slog.LevelWarn, "consume/next", "fetching events failed", "error", err)
			// After missed heartbeats the next call of Next pulls again,
			// and a pause would only lengthen the stall.
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				sleep(ctx, retryInterval/10)
			}
			continue
		}
		events <- msg
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
