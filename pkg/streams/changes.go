package streams

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// WatchChanges calls handle with the data of every config change notice
// stored after it is called, in order, until Stop is called on the
// returned ConsumeContext. Call it before loading what the notices invalidate, so that
// no write falls between the load and the first notice.
//
// A core NATS subscription would lose a notice that config publishes
// before the subscription's interest reaches config's server, which on
// a cluster takes a moment after every subscribe and reconnect. The
// ordered consumer reads the CHANGES stream instead and, after a
// reconnect or a leader election, resumes at the next sequence.
func WatchChanges(ctx context.Context, js jetstream.JetStream, t Topology,
	handle func(data []byte), opts ...jetstream.PullConsumeOpt) (jetstream.ConsumeContext, error) {
	name := t.Stream(Changes)
	stream, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", name, err)
	}

	// A start sequence, not DeliverNewPolicy: the ordered consumer
	// reuses its policy when it recreates itself before the first
	// notice, and "new" would then skip what came in between.
	start := stream.CachedInfo().State.LastSeq + 1
	consumer, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
	})
	if err != nil {
		return nil, fmt.Errorf("watch stream %s: %w", name, err)
	}
	// The short expiry and heartbeat of the services' consumers let
	// the ordered consumer notice a lost server within seconds.
	opts = append([]jetstream.PullConsumeOpt{
		jetstream.PullExpiry(PullExpiry), jetstream.PullHeartbeat(PullHeartbeat),
	}, opts...)
	cc, err := consumer.Consume(func(m jetstream.Msg) { handle(m.Data()) }, opts...)
	if err != nil {
		return nil, fmt.Errorf("watch stream %s: %w", name, err)
	}
	return cc, nil
}
