package ingest

import (
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// storeTimeout bounds the wait for a JetStream publish ack. Without it a
// lost ack would hold an HTTP request or an ingress message forever.
const storeTimeout = 10 * time.Second

// maxPendingStores bounds the publishes waiting for an ack across the
// service. Past it a publish waits briefly and then fails, which the
// caller reports as InternalFailure or redelivers.
const maxPendingStores = 4096

// maxTraceparentLength bounds a traceparent extension that is honoured.
// A version 00 W3C traceparent is 55 characters.
const maxTraceparentLength = 256

// eventMsg builds the EVENTS message of a completed event, with the
// trace context of ctx. The message id comes from source and id, so a
// retried publish is stored once.
func (s *Service) eventMsg(ctx context.Context, bus string, ev *event.Event, stored []byte,
	now time.Time) *nats.Msg {
	msg := nats.NewMsg(s.cfg.Topology.EventsSubject(bus))
	msg.Data = stored
	msg.Header.Set(streams.HeaderMsgID, streams.EventMsgID(bus, ev.Source(), ev.ID()))
	msg.Header.Set(streams.HeaderBus, bus)
	msg.Header.Set(streams.HeaderIngestTime, now.UTC().Format(time.RFC3339Nano))
	injectNATS(ctx, msg.Header)
	return msg
}

// publishAll publishes every message asynchronously, then waits for each
// ack. The error at index i is nil when message i is stored, including
// when JetStream recognized it as a duplicate of a stored one.
func publishAll(js jetstream.JetStream, msgs []*nats.Msg) []error {
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, msg := range msgs {
		futures[i], errs[i] = js.PublishMsgAsync(msg)
	}
	for i, future := range futures {
		if errs[i] == nil {
			errs[i] = waitStored(future)
		}
	}
	return errs
}

// waitStored waits for the ack of one publish. The JetStream context has
// storeTimeout set, so the future always resolves.
func waitStored(future jetstream.PubAckFuture) error {
	select {
	case <-future.Ok():
		return nil
	case err := <-future.Err():
		return err
	}
}
