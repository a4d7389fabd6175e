package config

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/tasks"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Dead letters are the internalv1.DeadLetter messages that delivery and
// the rule engine store on deadletter.<bus> in the DEADLETTER stream. A dead letter's
// id is its stream sequence number: the stream never hands out a
// sequence twice, so the id stays valid until the message is removed.
// Deleting and recreating the stream starts the sequence over, which
// redrive markers detect by the stored time (see redrive.go).

// Bounds of one ListDeadLetters call.
const (
	defaultDeadLetterPageSize = 50
	maxDeadLetterPageSize     = 500
	// maxDeadLetterScan bounds the messages one page reads, so that a
	// rule filter that matches few of many dead letters still returns
	// in time. Such a page ends early, with a next page token.
	maxDeadLetterScan = 10_000
)

// deadLetterFetchBatch is the number of messages one fetch of a scan
// requests.
const deadLetterFetchBatch = 256

// deadLetterFetchWait bounds one fetch. A fetch requests no more than
// the pending messages, so it waits this long only when messages were
// removed during the scan.
const deadLetterFetchWait = 2 * time.Second

// storedDeadLetter is a dead letter with its place in the stream.
type storedDeadLetter struct {
	seq    uint64
	stored time.Time
	dl     *internalv1.DeadLetter
}

func (d *storedDeadLetter) id() string { return strconv.FormatUint(d.seq, 10) }

// deadLetterFilter narrows a scan. Zero fields match everything.
type deadLetterFilter struct {
	bus   string
	rule  string
	since time.Time
}

func (f deadLetterFilter) matches(d *storedDeadLetter) bool {
	task := d.dl.GetTask()
	switch {
	case f.bus != "" && task.GetBus() != f.bus:
		return false
	case f.rule != "" && task.GetRule() != f.rule:
		return false
	case !f.since.IsZero() && d.stored.Before(f.since):
		return false
	}
	return true
}

func (f deadLetterFilter) empty() bool {
	return f.bus == "" && f.rule == "" && f.since.IsZero()
}

// newDeadLetterFilter checks the filter fields of a request. Names must
// be valid, which also keeps subject wildcards out of the bus.
func newDeadLetterFilter(bus, rule string, since *timestamppb.Timestamp,
) (deadLetterFilter, error) {
	var f deadLetterFilter
	if bus != "" {
		if err := checkName("bus", "the bus name", bus); err != nil {
			return f, err
		}
	}
	if rule != "" {
		if err := checkName("rule", "the rule name", rule); err != nil {
			return f, err
		}
	}
	if since != nil {
		if err := since.CheckValid(); err != nil {
			return f, invalidf("since", "the since time is invalid: %v", err)
		}
		f.since = since.AsTime()
	}
	f.bus, f.rule = bus, rule
	return f, nil
}

// parseDeadLetterID turns a dead letter id into its stream sequence.
func parseDeadLetterID(field, id string) (uint64, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || seq == 0 {
		return 0, invalidf(field, "the dead letter id %q is not valid; "+
			"an id is a positive number as `dlq list` shows it", id)
	}
	return seq, nil
}

// openDeadLetters opens the DEADLETTER stream and the redrive markers.
// The stream's configuration sizes the markers' lifetime and the
// republish window, so both follow streams.Ensure.
func (s *Service) openDeadLetters(ctx context.Context, js jetstream.JetStream) error {
	t := s.cfg.Topology
	dead, err := js.Stream(ctx, t.Stream(streams.DeadLetter))
	if err != nil {
		return fmt.Errorf("config: open stream %s: %w", t.Stream(streams.DeadLetter), err)
	}
	deliveries, err := js.Stream(ctx, t.Stream(streams.Deliveries))
	if err != nil {
		return fmt.Errorf("config: open stream %s: %w", t.Stream(streams.Deliveries), err)
	}

	// TODO: the marker bucket belongs in streams.Ensure beside the
	// other buckets. Until then config creates it, which is enough
	// because only config reads and writes markers.
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   t.Bucket(bucketRedrives),
		Storage:  jetstream.FileStorage,
		Replicas: dead.CachedInfo().Config.Replicas,
		TTL:      dead.CachedInfo().Config.MaxAge,
	})
	if err != nil {
		return fmt.Errorf("config: create bucket %s: %w", t.Bucket(bucketRedrives), err)
	}

	maxTaskSize, err := tasks.SizeLimit(ctx, js, s.cfg.NATS, t)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}

	s.js = js
	s.deadLetters = dead
	s.redrives = kv
	s.dedupWindow = deliveries.CachedInfo().Config.Duplicates
	s.maxTaskSize = maxTaskSize
	return nil
}

// deadLetterSubject is the subject filter of a bus's dead letters, or
// of every bus's when bus is empty.
func (s *Service) deadLetterSubject(bus string) string {
	if bus == "" {
		return s.cfg.Topology.DeadLetterSubject(">")
	}
	return s.cfg.Topology.DeadLetterSubject(bus)
}

// loadDeadLetter reads one dead letter by id.
func (s *Service) loadDeadLetter(ctx context.Context, seq uint64) (*storedDeadLetter, error) {
	raw, err := s.deadLetters.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, classErrorf(ErrNotFound,
			"dead letter %d not found; it was redriven, purged or expired", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	return decodeDeadLetter(seq, raw.Time, raw.Data)
}

func decodeDeadLetter(seq uint64, stored time.Time, data []byte) (*storedDeadLetter, error) {
	dl := &internalv1.DeadLetter{}
	if err := proto.Unmarshal(data, dl); err != nil {
		return nil, fmt.Errorf("decode dead letter %d: %w", seq, err)
	}
	return &storedDeadLetter{seq: seq, stored: stored, dl: dl}, nil
}

// visitFunc handles one dead letter of a scan and reports whether the
// scan goes on.
type visitFunc func(*storedDeadLetter) (bool, error)

// scanDeadLetters calls visit, in stream order, for each dead letter
// that f matches. It starts at sequence start, or when that is zero at
// f.since or the first message. It reads no message after sequence
// last unless last is zero, and at most maxRead messages.
//
// It returns the sequence to continue from, or zero when nothing is
// left to read. Messages that do not decode are logged and passed
// over, so one of them cannot block every later dead letter.
func (s *Service) scanDeadLetters(ctx context.Context, f deadLetterFilter,
	start, last uint64, maxRead int, visit visitFunc,
) (uint64, error) {
	cons, err := s.deadLetters.CreateConsumer(ctx, s.scanConsumerConfig(f, start))
	if err != nil {
		return 0, fmt.Errorf("read dead letters: %w", err)
	}
	defer s.deleteScanConsumer(ctx, cons.CachedInfo().Name)

	pending := cons.CachedInfo().NumPending
	read := 0
	for pending > 0 && read < maxRead {
		n := min(pending, deadLetterFetchBatch, uint64(maxRead-read))
		batch, err := cons.Fetch(int(n), jetstream.FetchMaxWait(deadLetterFetchWait))
		if err != nil {
			return 0, fmt.Errorf("read dead letters: %w", err)
		}

		got := 0
		for msg := range batch.Messages() {
			got++
			read++
			meta, err := msg.Metadata()
			if err != nil {
				return 0, fmt.Errorf("read dead letters: %w", err)
			}
			seq := meta.Sequence.Stream
			if last != 0 && seq > last {
				return 0, nil
			}
			pending = meta.NumPending

			more, err := s.visitMessage(f, seq, meta.Timestamp, msg.Data(), visit)
			if err != nil {
				return 0, err
			}
			if !more || read == maxRead {
				return nextSeq(seq, pending), nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return 0, fmt.Errorf("read dead letters: %w", err)
		}
		if got == 0 {
			// The pending messages were removed while the scan ran.
			return 0, nil
		}
	}
	return 0, nil
}

func nextSeq(seq, pending uint64) uint64 {
	if pending == 0 {
		return 0
	}
	return seq + 1
}

func (s *Service) visitMessage(f deadLetterFilter, seq uint64, stored time.Time,
	data []byte, visit visitFunc,
) (bool, error) {
	d, err := decodeDeadLetter(seq, stored, data)
	if err != nil {
		s.log.Warn("dead letter passed over", "dead_letter_id", seq, "error", err)
		return true, nil
	}
	if !f.matches(d) {
		return true, nil
	}
	return visit(d)
}

// scanConsumerConfig describes a short-lived consumer that reads
// without acks, so a scan changes nothing in the stream.
func (s *Service) scanConsumerConfig(f deadLetterFilter, start uint64) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     s.deadLetterSubject(f.bus),
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	}
	switch {
	case start != 0:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start
	case !f.since.IsZero():
		since := f.since
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	}
	return cfg
}

// deleteScanConsumer removes a scan's consumer at once. A failure is
// only logged, because the server removes the consumer after its
// inactive threshold anyway.
func (s *Service) deleteScanConsumer(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.deadLetters.DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.log.Warn("dead letter scan consumer not deleted", "consumer", name, "error", err)
	}
}

// listDeadLetters returns one page of dead letters. The page token is
// the stream sequence where the next page starts.
func (s *Service) listDeadLetters(ctx context.Context, req *v1.ListDeadLettersRequest,
) (*v1.ListDeadLettersResponse, error) {
	f, err := newDeadLetterFilter(req.GetBus(), req.GetRule(), req.GetSince())
	if err != nil {
		return nil, err
	}
	size, err := deadLetterPageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	var start uint64
	if token := req.GetPageToken(); token != "" {
		start, err = strconv.ParseUint(token, 10, 64)
		if err != nil || start == 0 {
			return nil, invalidf("page_token", "the page token %q is not one from a previous page", token)
		}
	}

	var page []*storedDeadLetter
	next, err := s.scanDeadLetters(ctx, f, start, 0, maxDeadLetterScan,
		func(d *storedDeadLetter) (bool, error) {
			page = append(page, d)
			return len(page) < size, nil
		})
	if err != nil {
		return nil, err
	}

	resp := &v1.ListDeadLettersResponse{DeadLetters: s.viewDeadLetters(ctx, page)}
	if next != 0 {
		resp.NextPageToken = strconv.FormatUint(next, 10)
	}
	return resp, nil
}

func deadLetterPageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return defaultDeadLetterPageSize, nil
	case n < 0 || n > maxDeadLetterPageSize:
		return 0, invalidf("page_size", "the page size %d is out of range; give 1 to %d, or 0 for %d",
			n, maxDeadLetterPageSize, defaultDeadLetterPageSize)
	}
	return int(n), nil
}

func (s *Service) getDeadLetter(ctx context.Context, id string) (*v1.DeadLetter, error) {
	seq, err := parseDeadLetterID("id", id)
	if err != nil {
		return nil, err
	}
	d, err := s.loadDeadLetter(ctx, seq)
	if err != nil {
		return nil, err
	}
	return s.viewDeadLetters(ctx, []*storedDeadLetter{d})[0], nil
}
