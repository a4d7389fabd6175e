package ruleengine

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// Replayed events arrive on replay.<bus> in the REPLAY work queue, where
// the config service's ReplayEvents copies them from EVENTS. The rule
// engine reads that queue with a second durable consumer and one worker
// of its own, so a large replay neither delays live events nor shares
// their ack budget.
//
// A replayed event goes through the same matching and rendering as a
// live one, against the rules held now. Its headers change four things.
// When the replay names a rule, only that rule matches. Every task is
// marked replayed and carries the replay id. A task's message id covers
// the replay id too, so JetStream does not drop it as a duplicate of the
// first delivery's task. The delivery record is keyed by the replay id,
// beside the first delivery's record.

// ReplayConsumerName is the durable name of the consumer on REPLAY,
// shared by every replica of the rule engine.
const ReplayConsumerName = "ruleengine-replay"

// replayMaxAckPending bounds the replayed events handed out and not yet
// acked, for all replicas together.
const replayMaxAckPending = 4096

func replayConsumerConfig(t streams.Topology) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ReplayConsumerName,
		Description:   "Switchyard rule engine: matches replayed events again",
		FilterSubject: t.ReplaySubject(">"),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: replayMaxAckPending,
		// Unlimited, as for live events.
		MaxDeliver: -1,
	}
}

func createReplayConsumer(ctx context.Context, js jetstream.JetStream, t streams.Topology,
) (jetstream.Consumer, error) {
	consumer, err := js.CreateOrUpdateConsumer(ctx, t.Stream(streams.Replay), replayConsumerConfig(t))
	if err != nil {
		return nil, fmt.Errorf("create replay consumer: %w", err)
	}
	return consumer, nil
}

// replayMark is the replay id and rule from the headers of a replayed
// event. The zero value marks a live event.
type replayMark struct {
	id string
	// rule is the one rule that may match; empty means every rule.
	rule string
}

// replayMarkOf reads the replay headers of msg on the replay worker, and
// ignores them on the live workers.
func (w *worker) replayMarkOf(msg jetstream.Msg) replayMark {
	if !w.replay {
		return replayMark{}
	}
	h := msg.Headers()
	return replayMark{id: h.Get(streams.HeaderReplayID), rule: h.Get(streams.HeaderReplayRule)}
}

// selects reports whether rule may match the event.
func (m replayMark) selects(rule string) bool {
	return m.rule == "" || m.rule == rule
}

// taskMsgID returns the message id of the task of one (rule, target).
func (mc *matchContext) taskMsgID(rule, targetID string) string {
	if mc.replay.id == "" {
		return streams.TaskMsgID(mc.bus, mc.event.Source, mc.event.ID, rule, targetID)
	}
	return streams.ReplayTaskMsgID(mc.replay.id, mc.bus, mc.event.Source, mc.event.ID, rule, targetID)
}

// runReplays matches replayed events until ctx is cancelled, then
// finishes the ones already fetched.
func (s *Service) runReplays(ctx context.Context) {
	replays := make(chan jetstream.Msg, s.cfg.BatchSize)
	w := newWorker(s)
	w.replay = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(replays)
	}()
	s.feedReplays(ctx, replays)
	<-done
}

// feedReplays passes fetched replayed events to the replay worker until
// ctx is cancelled, then drains what was fetched and closes replays.
func (s *Service) feedReplays(ctx context.Context, replays chan<- jetstream.Msg) {
	defer close(replays)
	for ctx.Err() == nil {
		it, err := s.replays.Messages(jetstream.PullMaxMessages(s.cfg.BatchSize),
			jetstream.PullExpiry(streams.PullExpiry), jetstream.PullHeartbeat(streams.PullHeartbeat))
		if err != nil {
			s.throttled.log(slog.LevelWarn, "replay/start", "starting to consume replayed events failed",
				"error", err)
			sleep(ctx, retryInterval)
			s.recreateReplayConsumer(ctx)
			continue
		}
		stop := context.AfterFunc(ctx, it.Drain)
		s.feedFrom(ctx, it, replays)
		stop()
		it.Stop()

		// The iterator closed without a shutdown, for instance because
		// the consumer was deleted: start over after a pause.
		sleep(ctx, retryInterval)
		if ctx.Err() == nil {
			s.recreateReplayConsumer(ctx)
		}
	}
}

// recreateReplayConsumer creates the replay consumer again, in case it
// was deleted.
func (s *Service) recreateReplayConsumer(ctx context.Context) {
	consumer, err := createReplayConsumer(ctx, s.js, s.cfg.Topology)
	if err != nil {
		s.throttled.log(slog.LevelWarn, "replay/create", "creating replay consumer failed",
			"error", err)
		return
	}
	s.replays = consumer
}
