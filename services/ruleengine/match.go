package ruleengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/render"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Error codes of delivery records that failed before any attempt.
const (
	// ErrorCodeRenderFailed marks a request that could not be rendered.
	ErrorCodeRenderFailed = "RENDER_FAILED"
	// ErrorCodeTaskTooLarge marks a task larger than the DELIVERIES
	// stream accepts. A task carries the event twice when the body is
	// the whole event, so events above about half the limit hit it.
	ErrorCodeTaskTooLarge = "TASK_TOO_LARGE"
)

// errTaskTooLarge is wrapped by the error for a task above maxTaskSize.
var errTaskTooLarge = errors.New("delivery task too large")

// envelope is the part of a CloudEvent that the rule engine reads.
type envelope struct {
	ID     string `json:"id"`
	Source string `json:"source"`
}

// matchContext contains the fields that every task of one event shares.
type matchContext struct {
	msg        jetstream.Msg
	bus        string
	event      envelope
	ingestTime time.Time
	matchTime  time.Time
	// replay is set for an event from the REPLAY queue.
	replay replayMark
}

// match matches one event against its bus's rules. It acks an event that
// matches nothing, terminates one that is not a JSON object, and returns
// the others with their tasks and records, to be settled with the batch.
func (w *worker) match(msg jetstream.Msg) *matchedEvent {
	ctx, span := w.s.obs.startMatch(msg)
	defer span.End()
	w.s.stats.addEvent(ctx)
	bus := streams.BusFromSubject(msg.Subject())
	rules := w.s.rules.Load().forBus(bus)

	var err error
	w.matches, err = rules.matcher.Match(msg.Data(), w.matches[:0])
	if err != nil {
		w.terminate(ctx, msg, bus, err)
		failSpan(span, err)
		return nil
	}
	span.SetAttributes(attribute.Int("switchyard.matched_rules", len(w.matches)))
	if len(w.matches) == 0 {
		w.ack(msg, "")
		return nil
	}

	mc := matchContext{msg: msg, bus: bus, ingestTime: ingestTime(msg), matchTime: time.Now()}
	mc.replay = w.replayMarkOf(msg)
	if err := json.Unmarshal(msg.Data(), &mc.event); err != nil {
		w.terminate(ctx, msg, bus, err)
		failSpan(span, err)
		return nil
	}
	span.SetAttributes(attribute.String("cloudevents.event_id", mc.event.ID))
	w.s.stats.addMatched(ctx, bus, w.matches)

	ev := &matchedEvent{msg: msg, eventID: mc.event.ID, ctx: ctx}
	for _, name := range w.matches {
		if !mc.replay.selects(name) {
			continue
		}
		rule := rules.rules[name]
		for _, target := range rule.GetTargets() {
			w.addTask(ctx, ev, &mc, rule, target)
		}
	}
	return ev
}

// terminate drops an event that can never match, because redelivering it
// would not change it.
func (w *worker) terminate(ctx context.Context, msg jetstream.Msg, bus string, reason error) {
	w.s.stats.addInvalid(ctx)
	attrs := []any{"bus", bus, "error", reason}
	if md, err := msg.Metadata(); err == nil {
		attrs = append(attrs, "stream_seq", md.Sequence.Stream)
	}
	w.s.throttled.logContext(ctx, slog.LevelWarn, "event/invalid",
		"event terminated: not a valid JSON event", attrs...)
	if err := msg.Term(); err != nil {
		w.s.throttled.logContext(ctx, slog.LevelWarn, "event/term", "terminating event failed", "bus", bus, "error", err)
	}
}

// addTask renders the request of one (event, rule, target) and adds its
// task and pending record to ev. A request that cannot be rendered, or a
// task too large to store, gets a failed record and no task, because
// trying again cannot succeed.
func (w *worker) addTask(ctx context.Context, ev *matchedEvent, mc *matchContext, rule *v1.Rule,
	target *v1.Target) {
	targetID := target.GetId()
	if targetID == "" {
		targetID = target.GetApiDestination()
	}
	ctx, span := w.s.obs.startRender(ctx, rule.GetName(), targetID, target.GetApiDestination())
	defer span.End()
	rec := newRecord(mc, rule.GetName(), targetID, target.GetApiDestination())
	ev.records = append(ev.records, rec)

	meta := render.Meta{
		Bus: mc.bus, Rule: rule.GetName(), EventID: mc.event.ID, IngestTime: mc.ingestTime,
	}
	req, err := render.Request(mc.msg.Data(), meta, target)
	var task *nats.Msg
	if err == nil {
		rec.Request = requestView(req)
		task, err = w.taskMsg(ctx, mc, rule.GetName(), targetID, target, req)
	}
	if err != nil {
		// TODO: dead-letter the event when the target has dead-lettering
		// on. Until then only the record and the log show the failure.
		w.s.stats.addRenderFailure(ctx, mc.bus, rule.GetName())
		failSpan(span, err)
		rec.State = v1.DeliveryState_DELIVERY_STATE_FAILED
		rec.ErrorCode = ErrorCodeRenderFailed
		if errors.Is(err, errTaskTooLarge) {
			rec.ErrorCode = ErrorCodeTaskTooLarge
		}
		rec.ErrorMessage = err.Error()
		w.s.throttled.logContext(ctx, slog.LevelWarn, "render/"+mc.bus+"/"+rule.GetName(),
			"building delivery task failed", "event_id", mc.event.ID, "bus", mc.bus,
			"rule", rule.GetName(), "target", targetID, "error", err)
		return
	}
	ev.tasks = append(ev.tasks, task)
}

func newRecord(mc *matchContext, rule, targetID, destination string) *v1.Delivery {
	now := timestamppb.New(mc.matchTime)
	return &v1.Delivery{
		EventId:        mc.event.ID,
		EventSource:    mc.event.Source,
		Bus:            mc.bus,
		Rule:           rule,
		TargetId:       targetID,
		ApiDestination: destination,
		State:          v1.DeliveryState_DELIVERY_STATE_PENDING,
		CreateTime:     now,
		UpdateTime:     now,
		ReplayId:       mc.replay.id,
	}
}

// taskMsg builds the message that carries one delivery task, with the
// message id that de-duplicates it and the trace context of ctx.
func (w *worker) taskMsg(ctx context.Context, mc *matchContext, rule, targetID string, target *v1.Target,
	req *internalv1.RenderedRequest) (*nats.Msg, error) {
	task := &internalv1.DeliveryTask{
		Bus:            mc.bus,
		EventId:        mc.event.ID,
		EventSource:    mc.event.Source,
		Rule:           rule,
		TargetId:       targetID,
		ApiDestination: target.GetApiDestination(),
		Request:        req,
		RetryPolicy:    target.GetRetryPolicy(),
		DeadLetter:     target.DeadLetter == nil || target.GetDeadLetter(),
		Event:          mc.msg.Data(),
		MatchTime:      timestamppb.New(mc.matchTime),
		Replayed:       mc.replay.id != "",
		ReplayId:       mc.replay.id,
	}
	if !mc.ingestTime.IsZero() {
		task.IngestTime = timestamppb.New(mc.ingestTime)
	}
	data, err := proto.Marshal(task)
	if err != nil {
		return nil, err
	}
	if size := len(data) + taskHeaderAllowance; size > w.s.maxTaskSize {
		return nil, fmt.Errorf("%w: %d bytes with headers, above the limit of %d bytes",
			errTaskTooLarge, size, w.s.maxTaskSize)
	}

	msgID := mc.taskMsgID(rule, targetID)
	header := nats.Header{
		streams.HeaderMsgID: {msgID},
		streams.HeaderBus:   {mc.bus},
	}
	injectTrace(ctx, header)
	subject := w.s.cfg.Topology.DeliveriesSubject(target.GetApiDestination())
	return &nats.Msg{Subject: subject, Header: header, Data: data}, nil
}

// ingestTime returns when ingest accepted the event: the ingest time
// header, or else the time JetStream stored the event.
func ingestTime(msg jetstream.Msg) time.Time {
	if v := msg.Headers().Get(streams.HeaderIngestTime); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	if md, err := msg.Metadata(); err == nil {
		return md.Timestamp
	}
	return time.Time{}
}
