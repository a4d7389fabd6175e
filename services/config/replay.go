package config

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// A replay copies the events of one bus that EVENTS stored within a
// time window to replay.<bus> in the REPLAY work queue. The rule engine
// consumes that queue with its own durable consumer and matches each
// event against the rules it has loaded now, so a replay reaches the
// current targets. Nothing in EVENTS changes, and the live consumer
// never receives the copies.
//
// A replay reads the window twice, with short-lived consumers that need
// no acks. The first pass reads headers only: it counts the events and
// finds the sequence of the last one, so a window above maxReplayEvents
// is rejected before anything is queued. The second pass reads the
// events up to that sequence and publishes them. An event stored after
// the call began is never part of it, even when end_time is later.
//
// Each copy keeps the event's headers (ingest time, trace context) and
// gets the replay id, the rule when one is named, and the message id
// "<replay id>-<EVENTS sequence>". A call repeated with the same replay
// id within the duplicate window therefore queues no event twice.

// maxReplayEvents bounds the events of one replay, so that one call
// publishes a bounded number of messages within the caller's deadline.
// It is a variable so that tests can lower it.
var maxReplayEvents = 100_000

// replayPublishBatch bounds how many replayed events await their acks
// at once.
const replayPublishBatch = 256

// replayIDPattern is the form of a replay id: it becomes part of
// message ids and of delivery record keys.
var replayIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// replayWindow is a checked ReplayEventsRequest.
type replayWindow struct {
	bus      string
	rule     string
	start    time.Time
	end      time.Time
	replayID string
}

// eventRange is the span of EVENTS sequences that a window's events
// occupy, with their count.
type eventRange struct {
	first, last uint64
	count       int
}

func (s *Service) replayEvents(ctx context.Context, req *v1.ReplayEventsRequest,
) (*v1.ReplayEventsResponse, error) {
	w, err := s.checkReplay(ctx, req)
	if err != nil {
		return nil, err
	}

	events, err := s.js.Stream(ctx, s.cfg.Topology.Stream(streams.Events))
	if err != nil {
		return nil, fmt.Errorf("open events stream: %w", err)
	}
	r, err := s.findReplayRange(ctx, events, w)
	if err != nil {
		return nil, err
	}
	if r.count > maxReplayEvents {
		return nil, classErrorf(ErrFailedPrecondition,
			"the window contains more than %d events of bus %q; replay it in parts "+
				"with narrower start and end times", maxReplayEvents, w.bus)
	}

	queued := 0
	if r.count > 0 {
		queued, err = s.queueReplay(ctx, events, w, r)
		if err != nil {
			return nil, err
		}
	}
	s.log.Info("events queued for replay",
		"bus", w.bus, "rule", w.rule, "replay_id", w.replayID, "events", queued)
	return &v1.ReplayEventsResponse{ReplayId: w.replayID, QueuedEvents: int64(queued)}, nil
}

// checkReplay validates a request against the stored buses and rules,
// and picks a replay id when the request has none.
func (s *Service) checkReplay(ctx context.Context, req *v1.ReplayEventsRequest,
) (replayWindow, error) {
	w := replayWindow{bus: req.GetBus(), rule: req.GetRule(), replayID: req.GetReplayId()}
	if err := checkName("bus", "the bus name", w.bus); err != nil {
		return w, err
	}
	if w.rule != "" {
		if err := checkName("rule", "the rule name", w.rule); err != nil {
			return w, err
		}
	}
	var err error
	if w.start, w.end, err = checkReplayTimes(req); err != nil {
		return w, err
	}
	if w.replayID == "" {
		w.replayID = newReplayID()
	} else if !replayIDPattern.MatchString(w.replayID) {
		return w, invalidf("replay_id", "the replay id %q is not valid; use 1 to 64 "+
			"lowercase letters, digits or '-', starting with a letter or digit", w.replayID)
	}

	if _, err := s.buses.get(ctx, w.bus, busLabel(w.bus)); err != nil {
		return w, err
	}
	if w.rule != "" {
		if _, err := s.rules.get(ctx, ruleKey(w.bus, w.rule), ruleLabel(w.bus, w.rule)); err != nil {
			return w, err
		}
	}
	return w, nil
}

func checkReplayTimes(req *v1.ReplayEventsRequest) (time.Time, time.Time, error) {
	start, err := checkReplayTime("start_time", "start", req.GetStartTime())
	if err != nil {
		return start, start, err
	}
	end, err := checkReplayTime("end_time", "end", req.GetEndTime())
	if err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, invalidf("end_time", "the end time %s is before the start time %s",
			end.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
	return start, end, nil
}

func checkReplayTime(field, what string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, invalidf(field, "the %s time is missing; give the %s of the window",
			what, what)
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, invalidf(field, "the %s time is invalid: %v", what, err)
	}
	return ts.AsTime(), nil
}

// newReplayID returns 16 random hex digits, which keeps collisions
// between replays of the same events out of reach.
func newReplayID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // Since Go 1.24, rand.Read never returns an error.
	return hex.EncodeToString(b[:])
}

// findReplayRange reads the headers of the window's events, up to the
// last event stored when the call began.
func (s *Service) findReplayRange(ctx context.Context, events jetstream.Stream,
	w replayWindow,
) (eventRange, error) {
	var r eventRange
	info, err := events.Info(ctx)
	if err != nil {
		return r, fmt.Errorf("read events stream: %w", err)
	}
	if info.State.Msgs == 0 {
		return r, nil
	}

	start := w.start
	cfg := s.replayScanConfig(w.bus)
	cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
	cfg.OptStartTime = &start
	cfg.HeadersOnly = true
	err = s.scanEvents(ctx, events, cfg, info.State.LastSeq, w.end,
		func(msg jetstream.Msg, seq uint64) error {
			if r.count == 0 {
				r.first = seq
			}
			r.last = seq
			r.count++
			if r.count > maxReplayEvents {
				return errStopScan
			}
			return nil
		})
	return r, err
}

// errStopScan ends a scan early without an error.
var errStopScan = errors.New("scan stopped")

// queueReplay publishes the events of r to the replay queue and returns
// how many the stream acknowledged. An event removed from EVENTS since
// findReplayRange counted it is not queued.
func (s *Service) queueReplay(ctx context.Context, events jetstream.Stream, w replayWindow,
	r eventRange,
) (int, error) {
	cfg := s.replayScanConfig(w.bus)
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = r.first

	queued := 0
	var futures []jetstream.PubAckFuture
	flush := func() error {
		n, err := awaitReplayAcks(ctx, futures)
		queued += n
		futures = futures[:0]
		return err
	}
	err := s.scanEvents(ctx, events, cfg, r.last, time.Time{},
		func(msg jetstream.Msg, seq uint64) error {
			f, err := s.js.PublishMsgAsync(replayMsg(s.cfg.Topology, w, msg, seq))
			if err != nil {
				return fmt.Errorf("queue event %d for replay: %w", seq, err)
			}
			futures = append(futures, f)
			if len(futures) < replayPublishBatch {
				return nil
			}
			return flush()
		})
	if err == nil {
		err = flush()
	}
	return queued, err
}

// replayMsg copies an archived event to replay.<bus>. JetStream's own
// headers are left out, except the new message id.
func replayMsg(t streams.Topology, w replayWindow, event jetstream.Msg, seq uint64) *nats.Msg {
	msg := nats.NewMsg(t.ReplaySubject(w.bus))
	msg.Data = event.Data()
	for name, values := range event.Headers() {
		if strings.HasPrefix(name, "Nats-") {
			continue
		}
		msg.Header[name] = values
	}
	msg.Header.Set(streams.HeaderMsgID, w.replayID+"-"+strconv.FormatUint(seq, 10))
	msg.Header.Set(streams.HeaderBus, w.bus)
	msg.Header.Set(streams.HeaderReplayID, w.replayID)
	if w.rule != "" {
		msg.Header.Set(streams.HeaderReplayRule, w.rule)
	}
	return msg
}

// awaitReplayAcks waits for each publish and returns how many the
// stream stored. A duplicate counts, because an earlier call with the
// same replay id queued that event.
func awaitReplayAcks(ctx context.Context, futures []jetstream.PubAckFuture) (int, error) {
	stored := 0
	for _, f := range futures {
		select {
		case <-f.Ok():
			stored++
		case err := <-f.Err():
			return stored, fmt.Errorf("queue event for replay: %w", err)
		case <-ctx.Done():
			return stored, fmt.Errorf("queue event for replay: %w", ctx.Err())
		}
	}
	return stored, nil
}

// replayScanConfig describes a short-lived consumer of one bus's events
// that reads without acks, so a scan changes nothing in the stream.
func (s *Service) replayScanConfig(bus string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		FilterSubject:     s.cfg.Topology.EventsSubject(bus),
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	}
}

// scanEvents calls visit, in stream order, for each event that cfg
// delivers, until the sequence passes last, an event's stored time
// passes end (unless end is zero), or visit returns errStopScan.
func (s *Service) scanEvents(ctx context.Context, events jetstream.Stream,
	cfg jetstream.ConsumerConfig, last uint64, end time.Time,
	visit func(msg jetstream.Msg, seq uint64) error,
) error {
	cons, err := events.CreateConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer s.deleteEventScanConsumer(ctx, events, cons.CachedInfo().Name)

	pending := cons.CachedInfo().NumPending
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, deadLetterFetchBatch)),
			jetstream.FetchMaxWait(deadLetterFetchWait))
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			seq := meta.Sequence.Stream
			if seq > last || (!end.IsZero() && meta.Timestamp.After(end)) {
				return nil
			}
			pending = meta.NumPending
			err = visit(msg, seq)
			if errors.Is(err, errStopScan) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read events: %w", err)
		}
		if got == 0 {
			// The pending events expired or were removed during the scan.
			return nil
		}
	}
	return nil
}

// deleteEventScanConsumer removes a scan's consumer at once. A failure
// is only logged, because the server removes the consumer after its
// inactive threshold anyway.
func (s *Service) deleteEventScanConsumer(ctx context.Context, events jetstream.Stream,
	name string,
) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := events.DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.log.Warn("event scan consumer not deleted", "consumer", name, "error", err)
	}
}
