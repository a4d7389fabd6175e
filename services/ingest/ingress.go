package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// The INGRESS consumer. A message holds its ack slot from delivery until
// its EVENTS or REJECTED publish is acknowledged, which takes at most a
// bus lookup plus storeTimeout, well inside ingressAckWait.
const (
	consumerName         = "ingest"
	ingressAckWait       = time.Minute
	ingressMaxAckPending = 1024
	ingressPullBatch     = 256
	// ingressNakDelay spaces redeliveries while NATS or config fails.
	ingressNakDelay = 5 * time.Second
)

func ingressConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "ingest: validates producer events and stores them in EVENTS",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ingressAckWait,
		MaxAckPending: ingressMaxAckPending,
	}
}

// ingress is a running INGRESS consumer. The Consume callback validates
// each message and starts its publish without waiting. One settling
// goroutine then waits for each publish ack in arrival order and acks or
// naks the message. The pending channel bounds the messages in between.
type ingress struct {
	consume jetstream.ConsumeContext
	pending chan settlement
	settled chan struct{}
}

// settlement is an ingress message whose outcome is being stored.
type settlement struct {
	msg jetstream.Msg
	// future is the publish to EVENTS or REJECTED; nil when err is set.
	future jetstream.PubAckFuture
	// err is a transient failure, so the message is redelivered later.
	err error
	// rejection is set when the message goes to REJECTED.
	rejection *failure
	bus       string
	// trace is ended when the message is settled.
	trace *eventTrace
}

func (s *Service) startIngress() (*ingress, error) {
	in := &ingress{
		pending: make(chan settlement, ingressMaxAckPending),
		settled: make(chan struct{}),
	}
	go func() {
		s.settle(in.pending)
		close(in.settled)
	}()

	consume, err := s.consumer.Consume(
		func(msg jetstream.Msg) { in.pending <- s.handleIngress(msg) },
		jetstream.PullMaxMessages(ingressPullBatch),
		jetstream.PullExpiry(streams.PullExpiry),
		jetstream.PullHeartbeat(streams.PullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.consumeWarnings.warn(s.log, "ingress consume error", "error", err)
		}))
	if err != nil {
		close(in.pending)
		<-in.settled
		return nil, fmt.Errorf("ingest: consume %s: %w", consumerName, err)
	}
	in.consume = consume
	return in, nil
}

// stopIngress drains the consumer, so messages already pulled are
// handled, and waits for their settlement until ctx ends. JetStream
// redelivers any message still unsettled after ingressAckWait.
func (s *Service) stopIngress(ctx context.Context, in *ingress) {
	in.consume.Drain()
	select {
	case <-in.consume.Closed():
	case <-ctx.Done():
		s.log.Warn("ingress drain timed out, unsettled messages will be redelivered")
		return
	}

	// No callback runs any more, so nothing sends on pending.
	close(in.pending)
	select {
	case <-in.settled:
	case <-ctx.Done():
		s.log.Warn("ingress settle timed out, unsettled messages will be redelivered")
	}
}

// handleIngress validates one message and starts publishing it to EVENTS,
// or to REJECTED with the reason when it is invalid.
func (s *Service) handleIngress(msg jetstream.Msg) settlement {
	bus := s.ingressBus(msg.Subject())
	now := time.Now()
	ev, stored, f := s.acceptIngress(bus, msg, now)
	hop := extractNATS(context.Background(), msg.Headers())
	evTrace := s.obs.startEvent(hop, transportNATS, bus, entry{event: ev, err: f}, now, time.Now())

	switch {
	case f == nil:
		ctx := evTrace.startStore()
		future, err := s.js.PublishMsgAsync(s.eventMsg(ctx, bus, ev, stored, now))
		return settlement{msg: msg, future: future, err: err, bus: bus, trace: evTrace}
	case transient(f):
		return settlement{msg: msg, err: f, bus: bus, trace: evTrace}
	default:
		ctx := evTrace.startStore()
		future, err := s.js.PublishMsgAsync(s.rejectedMsg(ctx, msg, bus, f, now))
		return settlement{msg: msg, future: future, err: err, rejection: f, bus: bus, trace: evTrace}
	}
}

// ingressBus returns the part of subject after the ingest root. A
// producer may publish to a subject with more tokens, such as
// ingest.a.b, and then the bus name "a.b" is rejected as invalid.
func (s *Service) ingressBus(subject string) string {
	return strings.TrimPrefix(subject, s.cfg.Topology.IngestSubject(""))
}

// acceptIngress checks a message the way the HTTP API checks a
// structured-mode event. A missing id and time come from the message's
// place and time in INGRESS, so a redelivered message completes to the
// same event and JetStream de-duplicates it in EVENTS.
func (s *Service) acceptIngress(bus string, msg jetstream.Msg, now time.Time) (*event.Event, []byte, *failure) {
	if f := checkBusName(bus); f != nil {
		return nil, nil, f
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	if f := s.buses.check(ctx, bus); f != nil {
		return nil, nil, f
	}

	ev, f := cloudevent.DecodeStructured(msg.Data())
	if f != nil {
		return nil, nil, f
	}
	eventTime, fallbackID := now, ""
	if meta, err := msg.Metadata(); err == nil {
		eventTime = meta.Timestamp
		fallbackID = ingressEventID(meta)
	}
	stored, f := cloudevent.Complete(ev, eventTime, fallbackID)
	if f != nil {
		return nil, nil, f
	}
	return ev, stored, nil
}

// ingressNamespace scopes the UUIDs derived from INGRESS positions.
var ingressNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:switchyard:ingress"))

// ingressEventID derives an event id from the message's stream, sequence
// and store time, which stay the same across redeliveries. The time
// keeps ids apart when a recreated stream reuses sequence numbers.
func ingressEventID(meta *jetstream.MsgMetadata) string {
	name := fmt.Sprintf("%s/%d/%d", meta.Stream, meta.Sequence.Stream, meta.Timestamp.UnixNano())
	return uuid.NewSHA1(ingressNamespace, []byte(name)).String()
}

// rejectedMsg carries the original body and headers to rejected.<bus>
// with the reason. Its message id comes from the ingress sequence, so a
// redelivered message is rejected once.
func (s *Service) rejectedMsg(ctx context.Context, msg jetstream.Msg, bus string, f *failure,
	now time.Time) *nats.Msg {
	out := nats.NewMsg(s.cfg.Topology.RejectedSubject(bus))
	out.Data = msg.Data()
	for key, values := range msg.Headers() {
		// JetStream's own headers (message id, expectations) belong to
		// the original publish, not to this one.
		if !strings.HasPrefix(key, "Nats-") {
			out.Header[key] = values
		}
	}
	injectNATS(ctx, out.Header)
	out.Header.Set(streams.HeaderReason, f.Error())
	out.Header.Set(streams.HeaderBus, bus)
	out.Header.Set(streams.HeaderIngestTime, now.UTC().Format(time.RFC3339Nano))
	if meta, err := msg.Metadata(); err == nil {
		id := fmt.Sprintf("rejected:%s:%d", meta.Stream, meta.Sequence.Stream)
		out.Header.Set(streams.HeaderMsgID, id)
	}
	return out
}

// settle acks each message once its publish is stored, and naks it with
// a delay when the publish failed, in the order messages arrived.
func (s *Service) settle(pending <-chan settlement) {
	for p := range pending {
		s.settleOne(p)
	}
}

func (s *Service) settleOne(p settlement) {
	ctx := p.trace.ctx
	err := p.err
	if err == nil {
		err = waitStored(p.future)
	}
	if err != nil {
		p.trace.endRetry(err)
		s.nakWarnings.warnContext(ctx, s.log, "ingress message not stored, redelivering later",
			"bus", p.bus, "error", err)
		if err := p.msg.NakWithDelay(s.nakDelay); err != nil {
			s.ackWarnings.warnContext(ctx, s.log, "ingress nak failed", "bus", p.bus, "error", err)
		}
		return
	}

	p.trace.end(p.rejection)
	if p.rejection != nil {
		s.rejections.recordContext(ctx, s.log, slog.LevelInfo, "ingress message rejected",
			"bus", p.bus, "code", p.rejection.Code)
	}
	if err := p.msg.Ack(); err != nil {
		s.ackWarnings.warnContext(ctx, s.log, "ingress ack failed", "bus", p.bus, "error", err)
	}
}
