package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/tasks"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// A redrive of one dead letter takes four steps, and a repeat of a
// redrive that stopped after any of them publishes nothing twice:
//
//  1. Create a marker keyed by the dead letter id in the redrives
//     bucket, holding the message id of the task to publish. Only one
//     redrive creates it, so concurrent redrives do not both publish.
//  2. Publish the task to deliveries.<destination> with that message id
//     and wait for the ack.
//  3. Mark the marker published.
//  4. Delete the dead letter, then the marker.
//
// A dead letter that the rule engine stored without a request gets its
// request rendered again before step 1, from the rule's current target
// (see rerender.go).
//
// A repeat that finds a published marker only finishes step 4. One
// that finds an unpublished marker cannot tell whether step 2 happened.
// While the marker is younger than the DELIVERIES stream's duplicate
// window, it publishes again with the same message id, which the
// stream stores at most once. After the window it skips the dead
// letter and says why, choosing at most once over a second call to the
// endpoint.

// bucketRedrives is the key-value bucket of redrive markers, without
// the topology prefix.
const bucketRedrives = "sy_redrives"

// errRedriveRace marks a marker write that lost to another redrive of
// the same dead letter, which then finishes the redrive.
var errRedriveRace = errors.New("another redrive moved the dead letter at the same time")

// redriveBatch bounds how many republished tasks await their acks at
// once.
const redriveBatch = 64

// redriveMarker is the value of a dead letter's key in the redrives
// bucket.
type redriveMarker struct {
	// MsgID is the JetStream message id of the republished task.
	MsgID string `json:"msg_id"`
	// DeadLetterTime is when the dead letter was stored. A marker whose
	// time differs belongs to a dead letter of an earlier stream with
	// the same sequence number, and is replaced.
	DeadLetterTime time.Time `json:"dead_letter_time"`
	// Published is set once the stream acknowledged the task.
	Published bool `json:"published"`
}

// redrive is one dead letter on its way back to its destination.
type redrive struct {
	d         *storedDeadLetter
	task      *internalv1.DeliveryTask
	marker    redriveMarker
	markerRev uint64
	// created is set when this call created the marker.
	created bool
	future  jetstream.PubAckFuture
}

// redriveResult collects the outcome of one RedriveDeadLetters call.
type redriveResult struct {
	resp *v1.RedriveDeadLettersResponse
}

func (r *redriveResult) redriven() { r.resp.Redriven++ }

func (r *redriveResult) skip(id, reason string) {
	r.resp.Skipped++
	r.resp.SkippedDeadLetters = append(r.resp.SkippedDeadLetters,
		&v1.SkippedDeadLetter{Id: id, Reason: reason})
}

// redriveDeadLetters republishes the tasks of the chosen dead letters
// and removes the dead letters. A call that fails part way may have
// redriven some of them; repeating it is safe.
func (s *Service) redriveDeadLetters(ctx context.Context, sel *v1.DeadLetterSelector,
) (*v1.RedriveDeadLettersResponse, error) {
	choice, err := parseSelector(sel)
	if err != nil {
		return nil, err
	}

	result := &redriveResult{resp: &v1.RedriveDeadLettersResponse{}}
	var batch []*storedDeadLetter
	flush := func() error {
		err := s.redriveBatch(ctx, batch, result)
		batch = batch[:0]
		return err
	}
	err = s.selectDeadLetters(ctx, choice, result.skip, func(d *storedDeadLetter) error {
		batch = append(batch, d)
		if len(batch) < redriveBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("dead letters redriven",
		"redriven", result.resp.GetRedriven(), "skipped", result.resp.GetSkipped())
	return result.resp, nil
}

// redriveBatch publishes the tasks of a batch together, then finishes
// each redrive whose task the stream acknowledged.
func (s *Service) redriveBatch(ctx context.Context, batch []*storedDeadLetter,
	result *redriveResult,
) error {
	var started []*redrive
	var firstErr error
	for _, d := range batch {
		r, err := s.startRedrive(ctx, d, result)
		if err != nil {
			// The redrives started so far are still confirmed.
			firstErr = err
			break
		}
		if r != nil {
			started = append(started, r)
		}
	}

	for _, r := range started {
		err := s.confirmRedrive(ctx, r, result)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// startRedrive begins the redrive of one dead letter and returns it
// when its task is being published. A dead letter that is skipped, or
// that only needed its last step, is done on return.
func (s *Service) startRedrive(ctx context.Context, d *storedDeadLetter,
	result *redriveResult,
) (*redrive, error) {
	r, reason, err := s.beginRedrive(ctx, d)
	switch {
	case err != nil:
		return nil, err
	case reason != "":
		result.skip(d.id(), reason)
		return nil, nil
	case r.marker.Published:
		s.recordRedrive(ctx, r)
		if err := s.finishRedrive(ctx, r); err != nil {
			return nil, err
		}
		result.skip(d.id(), republishedReason)
		return nil, nil
	}
	if err := s.publishTask(r); err != nil {
		return nil, err
	}
	return r, nil
}

// republishedReason is the skip reason of a dead letter whose task an
// earlier, interrupted redrive republished.
const republishedReason = "an earlier redrive republished it; its dead letter is removed now"

// beginRedrive creates the marker of a dead letter, or reads the marker
// of an earlier redrive. A non-empty reason means the caller skips the
// dead letter, and says why.
func (s *Service) beginRedrive(ctx context.Context, d *storedDeadLetter,
) (*redrive, string, error) {
	task := proto.Clone(d.dl.GetTask()).(*internalv1.DeliveryTask)
	if tasks.Unrendered(d.dl) {
		reason, err := s.rerender(ctx, d.id(), task)
		if reason != "" || err != nil {
			return nil, reason, err
		}
	}
	if task.GetApiDestination() == "" {
		return nil, "the dead letter names no API destination", nil
	}
	task.Redriven = true
	task.RedriveCount = d.dl.GetTask().GetRedriveCount() + 1

	r := &redrive{d: d, task: task, marker: redriveMarker{
		MsgID:          fmt.Sprintf("redrive-%d-%d", d.seq, task.GetRedriveCount()),
		DeadLetterTime: d.stored,
	}}
	value, err := json.Marshal(r.marker)
	if err != nil {
		return nil, "", fmt.Errorf("encode redrive marker: %w", err)
	}
	r.markerRev, err = s.redrives.Create(ctx, d.id(), value)
	if err == nil {
		r.created = true
		return r, "", nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, "", fmt.Errorf("mark dead letter %d for redrive: %w", d.seq, err)
	}
	return s.resumeRedrive(ctx, r, value)
}

// resumeRedrive decides what to do with a dead letter whose marker an
// earlier redrive created.
func (s *Service) resumeRedrive(ctx context.Context, r *redrive, value []byte,
) (*redrive, string, error) {
	key := r.d.id()
	entry, err := s.redrives.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, "another redrive finished it during this one", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read redrive marker of dead letter %s: %w", key, err)
	}
	var old redriveMarker
	if err := json.Unmarshal(entry.Value(), &old); err != nil {
		return nil, "", fmt.Errorf("decode redrive marker of dead letter %s: %w", key, err)
	}

	if !old.DeadLetterTime.Equal(r.d.stored) {
		r.markerRev, err = s.redrives.Update(ctx, key, value, entry.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, errRedriveRace.Error(), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("replace redrive marker of dead letter %s: %w", key, err)
		}
		r.created = true
		return r, "", nil
	}

	r.marker, r.markerRev = old, entry.Revision()
	if old.Published {
		return r, "", nil
	}
	age := time.Since(entry.Created())
	if age < s.republishWindow() {
		return r, "", nil
	}
	return nil, fmt.Sprintf("a redrive %s ago stopped before confirming that it republished "+
		"the task; redriving it again could call the endpoint twice, so check "+
		"`switchyard deliveries get %s` and purge the dead letter if it was delivered",
		age.Round(time.Second), r.task.GetEventId()), nil
}

// republishWindow returns the age below which a repeat publishes the
// task of an unconfirmed marker again. It keeps a quarter of the
// duplicate window as a margin, because the marker's time comes from
// the NATS server's clock and the age is measured on this host's.
func (s *Service) republishWindow() time.Duration {
	return s.dedupWindow - s.dedupWindow/4
}

// publishTask starts publishing a redrive's task without waiting for
// the ack.
func (s *Service) publishTask(r *redrive) error {
	data, err := proto.Marshal(r.task)
	if err != nil {
		return fmt.Errorf("encode task of dead letter %d: %w", r.d.seq, err)
	}
	msg := nats.NewMsg(s.cfg.Topology.DeliveriesSubject(r.task.GetApiDestination()))
	msg.Data = data
	msg.Header.Set(streams.HeaderMsgID, r.marker.MsgID)
	msg.Header.Set(streams.HeaderBus, r.task.GetBus())

	r.future, err = s.js.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("republish task of dead letter %d: %w", r.d.seq, err)
	}
	return nil
}

// confirmRedrive waits for the ack of a republished task and finishes
// the redrive. A duplicate ack means an earlier redrive had published
// the task already.
func (s *Service) confirmRedrive(ctx context.Context, r *redrive, result *redriveResult) error {
	ack, err := s.awaitRepublished(ctx, r)
	if errors.Is(err, errRedriveRace) {
		result.skip(r.d.id(), err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	s.recordRedrive(ctx, r)
	if err := s.finishRedrive(ctx, r); err != nil {
		return err
	}

	if ack.Duplicate {
		result.skip(r.d.id(), republishedReason)
		return nil
	}
	result.redriven()
	s.log.Debug("dead letter redriven",
		"dead_letter_id", r.d.seq,
		"event_id", r.task.GetEventId(),
		"rule", r.task.GetRule(),
		"destination", r.task.GetApiDestination())
	return nil
}

// awaitRepublished waits for the ack of a republished task and marks
// the marker published.
func (s *Service) awaitRepublished(ctx context.Context, r *redrive) (*jetstream.PubAck, error) {
	var ack *jetstream.PubAck
	select {
	case ack = <-r.future.Ok():
	case err := <-r.future.Err():
		s.abandonMarker(ctx, r, err)
		return nil, fmt.Errorf("republish task of dead letter %d: %w", r.d.seq, err)
	case <-ctx.Done():
		return nil, fmt.Errorf("republish task of dead letter %d: %w", r.d.seq, ctx.Err())
	}

	r.marker.Published = true
	value, err := json.Marshal(r.marker)
	if err != nil {
		return nil, fmt.Errorf("encode redrive marker: %w", err)
	}
	r.markerRev, err = s.redrives.Update(ctx, r.d.id(), value, r.markerRev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return nil, errRedriveRace
	}
	if err != nil {
		return nil, fmt.Errorf("mark dead letter %d republished: %w", r.d.seq, err)
	}
	return ack, nil
}

// abandonMarker removes the marker that this call created when the
// stream rejected the task, so that a later redrive starts afresh. Any
// other failure, such as a timeout, leaves it, because the task may
// have been stored.
func (s *Service) abandonMarker(ctx context.Context, r *redrive, cause error) {
	var apiErr *jetstream.APIError
	if !r.created || !errors.As(cause, &apiErr) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.redrives.Delete(ctx, r.d.id(), jetstream.LastRevision(r.markerRev))
	if err != nil {
		s.log.Warn("redrive marker not removed after a rejected publish",
			"dead_letter_id", r.d.seq, "error", err)
	}
}

// finishRedrive deletes a dead letter whose task was republished, then
// its marker. The marker is only removed once the dead letter is gone,
// so no repeat can publish the task again.
func (s *Service) finishRedrive(ctx context.Context, r *redrive) error {
	if err := s.deleteDeadLetter(ctx, r.d.seq); err != nil {
		return err
	}
	err := s.redrives.Delete(ctx, r.d.id())
	if err != nil {
		// The bucket's TTL removes it later.
		s.log.Warn("redrive marker not removed", "dead_letter_id", r.d.seq, "error", err)
	}
	return nil
}

func (s *Service) deleteDeadLetter(ctx context.Context, seq uint64) error {
	err := s.deadLetters.DeleteMsg(ctx, seq)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	return nil
}

// recordRedrive notes the redrive in the delivery record. A record
// still dead-lettered becomes pending again; one that delivery already
// moved on keeps its state. A record of a request rendered again gets
// the request. A failed write is logged and the redrive goes on, since
// the record is a view and the stream holds the truth.
func (s *Service) recordRedrive(ctx context.Context, rd *redrive) {
	task := rd.task
	rendered := tasks.Unrendered(rd.d.dl)
	now := timestamppb.Now()
	key := records.ReplayKey(task.GetEventId(), task.GetEventSource(), task.GetBus(),
		task.GetRule(), task.GetTargetId(), task.GetReplayId())
	err := s.records.Update(ctx, key, func(r *v1.Delivery) {
		if r.GetEventId() == "" {
			r.EventId, r.EventSource, r.Bus = task.GetEventId(), task.GetEventSource(), task.GetBus()
			r.Rule, r.TargetId = task.GetRule(), task.GetTargetId()
			r.ApiDestination = task.GetApiDestination()
			r.ReplayId = task.GetReplayId()
			r.State = v1.DeliveryState_DELIVERY_STATE_PENDING
			r.CreateTime = now
		}
		if rendered {
			r.Request = records.RequestView(task.GetRequest())
		}
		if r.GetState() == v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED {
			r.State = v1.DeliveryState_DELIVERY_STATE_PENDING
			r.ErrorCode, r.ErrorMessage = "", ""
		}
		r.RedriveCount = max(r.GetRedriveCount(), task.GetRedriveCount())
		r.UpdateTime = now
	})
	if err != nil {
		s.log.Warn("delivery record not updated after a redrive",
			"event_id", task.GetEventId(), "rule", task.GetRule(), "error", err)
	}
}

// purgeDeadLetters deletes the chosen dead letters and returns how many
// it deleted, and which of those chosen by id it did not find.
func (s *Service) purgeDeadLetters(ctx context.Context, sel *v1.DeadLetterSelector,
) (*v1.PurgeDeadLettersResponse, error) {
	choice, err := parseSelector(sel)
	if err != nil {
		return nil, err
	}

	resp := &v1.PurgeDeadLettersResponse{}
	skip := func(id, reason string) {
		resp.SkippedDeadLetters = append(resp.SkippedDeadLetters,
			&v1.SkippedDeadLetter{Id: id, Reason: reason})
	}
	err = s.selectDeadLetters(ctx, choice, skip, func(d *storedDeadLetter) error {
		if err := s.deleteDeadLetter(ctx, d.seq); err != nil {
			return err
		}
		s.removeMarker(ctx, d.id())
		resp.Purged++
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("dead letters purged", "purged", resp.GetPurged())
	return resp, nil
}

// removeMarker deletes the marker of a purged dead letter, if it has
// one. A failure is only logged, since the bucket's TTL removes it too.
func (s *Service) removeMarker(ctx context.Context, key string) {
	_, err := s.redrives.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	if err == nil {
		err = s.redrives.Delete(ctx, key)
	}
	if err != nil {
		s.log.Warn("redrive marker not removed", "dead_letter_id", key, "error", err)
	}
}

// deadLetterChoice is a checked DeadLetterSelector.
type deadLetterChoice struct {
	filter deadLetterFilter
	ids    []uint64
}

func parseSelector(sel *v1.DeadLetterSelector) (deadLetterChoice, error) {
	var c deadLetterChoice
	f, err := newDeadLetterFilter(sel.GetBus(), sel.GetRule(), sel.GetSince())
	if err != nil {
		return c, err
	}
	c.filter = f
	seen := map[uint64]bool{}
	for i, id := range sel.GetIds() {
		seq, err := parseDeadLetterID("ids["+strconv.Itoa(i)+"]", id)
		if err != nil {
			return c, err
		}
		if !seen[seq] {
			seen[seq] = true
			c.ids = append(c.ids, seq)
		}
	}
	if f.empty() && len(c.ids) == 0 && !sel.GetAll() {
		return c, invalidf("selector", "no dead letters chosen; "+
			"give a bus, rule, since or ids, or set all to choose every dead letter")
	}
	return c, nil
}

// selectDeadLetters calls visit for each chosen dead letter. Chosen ids
// that are missing or do not match the filter go to skip instead. A
// scan stops at the last dead letter stored when it starts, so a
// redriven task that fails again is not redriven twice by one call.
func (s *Service) selectDeadLetters(ctx context.Context, c deadLetterChoice,
	skip func(id, reason string), visit func(*storedDeadLetter) error,
) error {
	if len(c.ids) > 0 {
		return s.selectByID(ctx, c, skip, visit)
	}

	info, err := s.deadLetters.Info(ctx)
	if err != nil {
		return fmt.Errorf("read dead letter stream: %w", err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	_, err = s.scanDeadLetters(ctx, c.filter, 0, last, int(info.State.Msgs),
		func(d *storedDeadLetter) (bool, error) {
			return true, visit(d)
		})
	return err
}

func (s *Service) selectByID(ctx context.Context, c deadLetterChoice,
	skip func(id, reason string), visit func(*storedDeadLetter) error,
) error {
	for _, seq := range c.ids {
		d, err := s.loadDeadLetter(ctx, seq)
		if errors.Is(err, ErrNotFound) {
			skip(strconv.FormatUint(seq, 10), "not found; it was redriven, purged or expired")
			continue
		}
		if err != nil {
			return err
		}
		if !c.filter.matches(d) {
			skip(d.id(), "it does not match the bus, rule or since given with the ids")
			continue
		}
		if err := visit(d); err != nil {
			return err
		}
	}
	return nil
}
