package ruleengine

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// worker handles batches of events. Each worker reuses its buffers, so
// it must not be shared between goroutines.
type worker struct {
	s       *Service
	batch   []jetstream.Msg
	matches []string
	events  []*matchedEvent
	futures []taskFuture
	// replay is set on the worker of the REPLAY queue, the only one
	// that reads the replay headers of a message.
	replay bool
}

// matchedEvent is an event that matched at least one rule, with what its
// matches produced.
type matchedEvent struct {
	msg     jetstream.Msg
	eventID string
	// ctx carries only the event's match span, for logs.
	ctx   context.Context
	tasks []*nats.Msg
	// deadLetters are the dead letters of tasks that could not be built.
	deadLetters []*nats.Msg
	records     []*v1.Delivery
	// failed is set when a record or a task could not be stored, so the
	// event must be handled again.
	failed atomic.Bool
}

type taskFuture struct {
	event  *matchedEvent
	future jetstream.PubAckFuture
	// deadLetter is set for the future of a dead letter.
	deadLetter bool
}

func newWorker(s *Service) *worker {
	return &worker{s: s, batch: make([]jetstream.Msg, 0, s.cfg.BatchSize)}
}

// run handles the events of in, a batch at a time, until in is closed.
// A batch is whatever is ready, up to BatchSize, so a lone event does not
// wait for others.
func (w *worker) run(in <-chan jetstream.Msg) {
	for msg := range in {
		w.batch = append(w.batch[:0], msg)
	fill:
		for len(w.batch) < cap(w.batch) {
			select {
			case msg, ok := <-in:
				if !ok {
					break fill
				}
				w.batch = append(w.batch, msg)
			default:
				break fill
			}
		}
		w.handleBatch()
	}
}

// handleBatch matches the batch's events, creates their delivery
// records, publishes their tasks, waits for JetStream to store them all,
// and then acks or naks each event. Records come first, so delivery finds
// a task's record complete when it updates it.
func (w *worker) handleBatch() {
	defer clear(w.batch)
	w.events = w.events[:0]
	for _, msg := range w.batch {
		if ev := w.match(msg); ev != nil {
			w.events = append(w.events, ev)
		}
	}
	if len(w.events) == 0 {
		return
	}

	w.createRecords()
	w.publishTasks()
	w.settle()
	clear(w.events)
}

// createRecords stores every delivery record of the batch: it publishes
// them all, then waits for the acknowledgements, so a batch costs one
// wait instead of a round trip per record. A record that exists already,
// from an event handled twice, counts as stored.
func (w *worker) createRecords() {
	type recordFuture struct {
		event  *matchedEvent
		rule   string
		future jetstream.PubAckFuture
	}
	var futures []recordFuture
	for _, ev := range w.events {
		for _, rec := range ev.records {
			future, err := w.s.records.CreateAsync(w.s.js, rec)
			if err != nil {
				w.recordFailed(ev, rec.GetRule(), err)
				continue
			}
			futures = append(futures, recordFuture{event: ev, rule: rec.GetRule(), future: future})
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	for _, f := range futures {
		select {
		case <-f.future.Ok():
		case err := <-f.future.Err():
			if records.CreateFailed(err) {
				w.recordFailed(f.event, f.rule, err)
			}
		case <-ctx.Done():
			w.recordFailed(f.event, f.rule, ctx.Err())
		}
	}
}

func (w *worker) recordFailed(ev *matchedEvent, rule string, err error) {
	ev.failed.Store(true)
	w.s.throttled.logContext(ev.ctx, slog.LevelWarn, "record/create", "creating delivery record failed",
		"event_id", ev.eventID, "rule", rule, "error", err)
}

// publishTasks publishes the tasks and dead letters of every event whose
// records are stored, then waits for JetStream to acknowledge each one.
func (w *worker) publishTasks() {
	w.futures = w.futures[:0]
	for _, ev := range w.events {
		if ev.failed.Load() {
			continue
		}
		if w.publishAll(ev, ev.tasks, false) {
			w.publishAll(ev, ev.deadLetters, true)
		}
	}

	// The publish timeout resolves every future; the deadline guards
	// against one that would never resolve all the same.
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout+time.Second)
	defer cancel()
	for _, f := range w.futures {
		select {
		case ack := <-f.future.Ok():
			w.s.stats.addStored(f.event.ctx, f.deadLetter, ack.Duplicate)
		case err := <-f.future.Err():
			w.publishFailed(f.event, f.future.Msg(), f.deadLetter, err)
		case <-ctx.Done():
			w.publishFailed(f.event, f.future.Msg(), f.deadLetter, ctx.Err())
		}
	}
	clear(w.futures)
}

// publishAll starts publishing msgs, the tasks or the dead letters of
// ev, and reports whether every publish started.
func (w *worker) publishAll(ev *matchedEvent, msgs []*nats.Msg, deadLetter bool) bool {
	for _, msg := range msgs {
		future, err := w.s.js.PublishMsgAsync(msg)
		if err != nil {
			w.publishFailed(ev, msg, deadLetter, err)
			return false
		}
		w.futures = append(w.futures, taskFuture{event: ev, future: future, deadLetter: deadLetter})
	}
	return true
}

func (w *worker) publishFailed(ev *matchedEvent, msg *nats.Msg, deadLetter bool, err error) {
	ev.failed.Store(true)
	if deadLetter {
		w.s.throttled.logContext(ev.ctx, slog.LevelWarn, "deadletter/publish", "publishing dead letter failed",
			"event_id", ev.eventID, "bus", streams.BusFromSubject(msg.Subject), "error", err)
		return
	}
	w.s.throttled.logContext(ev.ctx, slog.LevelWarn, "task/publish", "publishing delivery task failed",
		"event_id", ev.eventID, "destination", streams.BusFromSubject(msg.Subject), "error", err)
}

// settle acks each event whose records and tasks are all stored, and
// naks the others, with a delay that grows with each redelivery.
func (w *worker) settle() {
	for _, ev := range w.events {
		if !ev.failed.Load() {
			w.ack(ev.msg, ev.eventID)
			continue
		}
		w.s.stats.addRetry(ev.ctx)
		var delivered uint64 = 1
		if md, err := ev.msg.Metadata(); err == nil {
			delivered = md.NumDelivered
		}
		if err := ev.msg.NakWithDelay(nakDelay(delivered)); err != nil {
			w.s.throttled.logContext(ev.ctx, slog.LevelWarn, "event/nak", "negative ack of event failed",
				"event_id", ev.eventID, "error", err)
		}
	}
}

// ack acknowledges an event without waiting for the server's reply. A
// lost ack means the event comes again after the ack wait and its tasks
// are de-duplicated.
func (w *worker) ack(msg jetstream.Msg, eventID string) {
	if err := msg.Ack(); err != nil {
		w.s.throttled.log(slog.LevelWarn, "event/ack", "ack of event failed",
			"event_id", eventID, "error", err)
	}
}

// nakDelay doubles from one second with each delivery, up to a minute.
func nakDelay(delivered uint64) time.Duration {
	n := min(max(delivered, 1)-1, 6)
	return min(time.Second<<n, time.Minute)
}
