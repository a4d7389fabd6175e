package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
)

// MaxEventSize is the largest event that ingest accepts, as in the
// cloud services.
const MaxEventSize = cloudevent.MaxEventSize

// Options sizes the streams and buckets that Ensure creates.
type Options struct {
	// Owner makes Ensure update existing streams and buckets to these
	// options. The config service is the owner. The other services only
	// create what is missing, so one started with default options never
	// undoes settings such as the retention of EVENTS.
	Owner bool
	// Replicas of every stream and bucket: 1 on one server, 3 on a
	// cluster. Zero means 1. The owner scales existing streams and
	// buckets to it; JetStream copies their messages to the new peers.
	Replicas int
	// EventsMaxAge is how long EVENTS keeps events for replay, and how
	// long REPLAY keeps events that were not matched again. Zero means
	// 7 days; other values must be at least MinEventsMaxAge.
	EventsMaxAge time.Duration
	// DeliveryRecordTTL is how long delivery records stay queryable.
	// Zero means 7 days.
	DeliveryRecordTTL time.Duration
	// DeadLetterMaxAge is how long dead letters are kept. Zero means
	// 14 days.
	DeadLetterMaxAge time.Duration
}

func (o Options) withDefaults() Options {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.EventsMaxAge == 0 {
		o.EventsMaxAge = 7 * 24 * time.Hour
	}
	if o.DeliveryRecordTTL == 0 {
		o.DeliveryRecordTTL = 7 * 24 * time.Hour
	}
	if o.DeadLetterMaxAge == 0 {
		o.DeadLetterMaxAge = 14 * 24 * time.Hour
	}
	return o
}

// dedupWindow bounds how long JetStream remembers message ids. A retried
// publish within it is stored once.
const dedupWindow = 2 * time.Minute

// changesMaxAge is how long the CHANGES stream keeps a notice.
const changesMaxAge = time.Hour

// MinEventsMaxAge is the shortest EventsMaxAge that Ensure accepts:
// JetStream rejects a stream whose duplicate window exceeds its max age.
const MinEventsMaxAge = dedupWindow

// maxMessageSize leaves room for the envelope and headers around an
// event of MaxEventSize.
const maxMessageSize = MaxEventSize + 64<<10

// maxTaskSize bounds delivery tasks and dead letters, which carry the
// event twice when the request body is the whole event: once as the
// body and once as the original for dead-lettering.
const maxTaskSize = 2*MaxEventSize + 64<<10

// Ensure creates or updates every stream and bucket of the topology. It
// is idempotent, so every service calls it at start and none depends on
// another having started first.
func Ensure(ctx context.Context, js jetstream.JetStream, t Topology, o Options) error {
	o = o.withDefaults()
	for _, cfg := range t.streamConfigs(o) {
		if err := ensureStream(ctx, js, cfg, o.Owner); err != nil {
			return fmt.Errorf("create stream %s: %w", cfg.Name, explainReplicas(err, o.Replicas))
		}
	}
	for _, cfg := range t.bucketConfigs(o) {
		if err := ensureBucket(ctx, js, cfg, o.Owner); err != nil {
			return fmt.Errorf("create bucket %s: %w", cfg.Bucket, explainReplicas(err, o.Replicas))
		}
	}
	return nil
}

// ensureStream creates a missing stream; an owner also updates an
// existing one to cfg.
func ensureStream(ctx context.Context, js jetstream.JetStream,
	cfg jetstream.StreamConfig, owner bool) error {
	if owner {
		_, err := js.CreateOrUpdateStream(ctx, cfg)
		return err
	}
	_, err := js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil
	}
	return err
}

// ensureBucket creates a missing bucket; an owner also updates an
// existing one to cfg.
func ensureBucket(ctx context.Context, js jetstream.JetStream,
	cfg jetstream.KeyValueConfig, owner bool) error {
	if owner {
		_, err := js.CreateOrUpdateKeyValue(ctx, cfg)
		return err
	}
	_, err := js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		return nil
	}
	return err
}

func (t Topology) streamConfigs(o Options) []jetstream.StreamConfig {
	stream := func(name, root string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:       t.stream(name),
			Subjects:   []string{t.wildcard(root)},
			Storage:    jetstream.FileStorage,
			Replicas:   o.Replicas,
			Duplicates: dedupWindow,
			MaxMsgSize: maxMessageSize,
		}
	}

	// INGRESS and DELIVERIES are work queues: a message leaves once a
	// consumer has acknowledged it.
	ingress := stream(Ingress, rootIngest)
	ingress.Retention = jetstream.WorkQueuePolicy

	events := stream(Events, rootEvents)
	events.MaxAge = o.EventsMaxAge

	deliveries := stream(Deliveries, rootDeliveries)
	deliveries.Retention = jetstream.WorkQueuePolicy
	deliveries.MaxMsgSize = maxTaskSize

	dead := stream(DeadLetter, rootDeadLetter)
	dead.MaxAge = o.DeadLetterMaxAge
	dead.MaxMsgSize = maxTaskSize

	rejected := stream(Rejected, rootRejected)
	rejected.MaxAge = o.DeadLetterMaxAge

	// REPLAY is a work queue too. A replayed event not matched within
	// the events' retention is dropped, as its original would be.
	replay := stream(Replay, rootReplay)
	replay.Retention = jetstream.WorkQueuePolicy
	replay.MaxAge = o.EventsMaxAge

	// CHANGES keeps notices long enough for a consumer to catch up
	// after a leader election or a reconnect. A service that was away
	// longer relies on its reload after a reconnect or on cache expiry.
	changes := stream(Changes, "")
	changes.Subjects = []string{t.ChangesSubject()}
	changes.MaxAge = changesMaxAge

	return []jetstream.StreamConfig{ingress, events, deliveries, dead, rejected, replay, changes}
}

func (t Topology) bucketConfigs(o Options) []jetstream.KeyValueConfig {
	bucket := func(name string) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{
			Bucket:   t.Bucket(name),
			Storage:  jetstream.FileStorage,
			Replicas: o.Replicas,
		}
	}
	records := bucket(BucketDeliveries)
	records.TTL = o.DeliveryRecordTTL

	return []jetstream.KeyValueConfig{
		bucket(BucketBuses),
		bucket(BucketConnections),
		bucket(BucketDestinations),
		bucket(BucketRules),
		records,
		bucket(BucketCircuits),
		bucket(BucketConnectionState),
	}
}

// Delete removes the streams and key-value buckets of t from the server,
// for a topology with a prefix of its own on a shared server, such as a
// test's or a benchmark run's. With an empty prefix it would remove
// every Switchyard stream, so it refuses.
func Delete(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if t.Prefix == "" {
		return errors.New("delete topology: the topology has no prefix; " +
			"refusing to delete the streams of a whole installation")
	}
	mine := []string{t.Stream(""), "KV_" + t.Bucket("")}
	var errs []error
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		for _, prefix := range mine {
			if strings.HasPrefix(name, prefix) {
				if err := js.DeleteStream(ctx, name); err != nil {
					errs = append(errs, fmt.Errorf("delete stream %s: %w", name, err))
				}
			}
		}
	}
	if err := names.Err(); err != nil {
		errs = append(errs, fmt.Errorf("list streams: %w", err))
	}
	return errors.Join(errs...)
}
