package ruleengine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/tasks"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

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
// task too large to store, gets no task, because trying again cannot
// succeed: see renderFailed.
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

	task := mc.newTask(rule.GetName(), targetID)
	err := tasks.Render(task, target)
	var msg *nats.Msg
	if err == nil {
		rec.Request = records.RequestView(task.GetRequest())
		msg, err = w.taskMsg(ctx, mc, task)
	}
	if err != nil {
		failSpan(span, err)
		w.renderFailed(ctx, ev, mc, rec, task, err)
		return
	}
	ev.tasks = append(ev.tasks, msg)
}

// renderFailed settles the delivery of a task that could not be built
// because of cause. When the target keeps dead letters, it adds a dead
// letter without a request to ev, which a redrive renders again with
// the rule's target of that time, and the record is dead-lettered.
// Otherwise the record is failed.
func (w *worker) renderFailed(ctx context.Context, ev *matchedEvent, mc *matchContext,
	rec *v1.Delivery, task *internalv1.DeliveryTask, cause error) {
	code := tasks.ErrorCode(cause)
	rec.State = v1.DeliveryState_DELIVERY_STATE_FAILED
	rec.ErrorCode, rec.ErrorMessage = code, cause.Error()

	attrs := []any{"event_id", mc.event.ID, "bus", mc.bus, "rule", task.GetRule(),
		"target", task.GetTargetId(), "error_code", code, "error", cause}
	if task.GetDeadLetter() {
		msg, err := w.deadLetterMsg(ctx, mc, task, code, cause)
		if err == nil {
			rec.State = v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED
			ev.deadLetters = append(ev.deadLetters, msg)
		} else {
			attrs = append(attrs, "dead_letter_error", err)
		}
	}
	deadLettered := rec.GetState() == v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED
	w.s.stats.addRenderFailure(ctx, mc.bus, task.GetRule(), code, deadLettered)
	attrs = append(attrs, "dead_lettered", deadLettered)
	w.s.throttled.logContext(ctx, slog.LevelWarn, "render/"+mc.bus+"/"+task.GetRule(),
		"building delivery task failed", attrs...)
}

// deadLetterMsg builds the dead letter of a task that could not be
// built, with no attempts and without the request. Its message id
// derives from the task's, so a redelivered event stores it once.
func (w *worker) deadLetterMsg(ctx context.Context, mc *matchContext, task *internalv1.DeliveryTask,
	code string, cause error) (*nats.Msg, error) {
	task.Request = nil
	dl := &internalv1.DeadLetter{Task: task, ErrorCode: code, ErrorMessage: cause.Error()}
	msgID := tasks.DeadLetterMsgID(mc.taskMsgID(task.GetRule(), task.GetTargetId()), 0)
	msg, err := tasks.DeadLetterMsg(w.s.cfg.Topology, dl, msgID)
	if err != nil {
		return nil, err
	}
	// DEADLETTER takes as much as DELIVERIES, and the event alone is
	// far below that, so this holds unless an operator shrank a stream.
	// Without the check such a dead letter would hold up its event for
	// good.
	if size := len(msg.Data) + tasks.HeaderAllowance; size > w.s.maxTaskSize {
		return nil, fmt.Errorf("dead letter of %d bytes with headers is above the limit of %d bytes",
			size, w.s.maxTaskSize)
	}
	injectTrace(ctx, msg.Header)
	return msg, nil
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

// newTask returns the task of one (rule, target) with the parts that
// the match decides. tasks.Render adds the target's parts.
func (mc *matchContext) newTask(rule, targetID string) *internalv1.DeliveryTask {
	task := &internalv1.DeliveryTask{
		Bus:         mc.bus,
		EventId:     mc.event.ID,
		EventSource: mc.event.Source,
		Rule:        rule,
		TargetId:    targetID,
		Event:       mc.msg.Data(),
		MatchTime:   timestamppb.New(mc.matchTime),
		Replayed:    mc.replay.id != "",
		ReplayId:    mc.replay.id,
	}
	if !mc.ingestTime.IsZero() {
		task.IngestTime = timestamppb.New(mc.ingestTime)
	}
	return task
}

// taskMsg builds the message that carries one delivery task, with the
// message id that de-duplicates it and the trace context of ctx.
func (w *worker) taskMsg(ctx context.Context, mc *matchContext, task *internalv1.DeliveryTask,
) (*nats.Msg, error) {
	data, err := tasks.Encode(task, w.s.maxTaskSize)
	if err != nil {
		return nil, err
	}
	msgID := mc.taskMsgID(task.GetRule(), task.GetTargetId())
	header := nats.Header{
		streams.HeaderMsgID: {msgID},
		streams.HeaderBus:   {mc.bus},
	}
	injectTrace(ctx, header)
	subject := w.s.cfg.Topology.DeliveriesSubject(task.GetApiDestination())
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
