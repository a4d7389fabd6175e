// Package records stores the delivery record of each (event, rule,
// target) in a JetStream key-value bucket, so that `switchyard
// deliveries get EVENT_ID` can show where an event's deliveries stand.
//
// The rule engine creates a pending record when it matches an event;
// delivery updates it after each attempt; config reads it. Records
// expire with the bucket's TTL.
package records

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxUpdateTries bounds the compare-and-swap loop of Update. Only one
// delivery worker holds a task at a time, so conflicts are rare.
const maxUpdateTries = 10

// Store reads and writes delivery records. It is safe for concurrent use.
type Store struct {
	kv jetstream.KeyValue
}

// Open opens the records bucket of the topology, which streams.Ensure
// creates.
func Open(ctx context.Context, js jetstream.JetStream, t streams.Topology) (*Store, error) {
	kv, err := js.KeyValue(ctx, t.Bucket(streams.BucketDeliveries))
	if err != nil {
		return nil, fmt.Errorf("open delivery records: %w", err)
	}
	return &Store{kv: kv}, nil
}

// Key returns the bucket key of a record. Bus, rule and target names
// are valid key tokens already; the event id is encoded because
// CloudEvents ids may hold any character. A CloudEvent is identified by
// its source and id together, so the key holds a digest of the source:
// two events that share an id but not a source keep records of their
// own, and List by id finds both.
func Key(eventID, source, bus, rule, target string) string {
	return eventKey(eventID) + "." + sourceKey(source) + "." + bus + "." + rule + "." + target
}

// sourceKey is a short digest of an event source, as one key token.
func sourceKey(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "s" + hex.EncodeToString(sum[:6])
}

// ReplayKey returns the bucket key of a record made by a replay: the key
// of the first delivery's record with the replay id as a fifth token.
// Both records stay, so a replay never overwrites what happened first,
// and List finds them together. An empty replayID gives Key.
func ReplayKey(eventID, source, bus, rule, target, replayID string) string {
	key := Key(eventID, source, bus, rule, target)
	if replayID == "" {
		return key
	}
	return key + ".replay-" + replayID
}

// eventKey encodes an event id as one key token. Long ids are hashed so
// keys stay short.
func eventKey(eventID string) string {
	if len(eventID) <= 96 {
		return "e" + base64.RawURLEncoding.EncodeToString([]byte(eventID))
	}
	sum := sha256.Sum256([]byte(eventID))
	return "h" + hex.EncodeToString(sum[:])
}

// Create stores d unless a record with the same key exists, which
// happens when the rule engine handles an event twice after a restart.
// A record with a replay id is keyed by ReplayKey.
func (s *Store) Create(ctx context.Context, d *v1.Delivery) error {
	b, err := proto.Marshal(d)
	if err != nil {
		return err
	}
	key := ReplayKey(d.GetEventId(), d.GetEventSource(), d.GetBus(), d.GetRule(),
		d.GetTargetId(), d.GetReplayId())
	_, err = s.kv.Create(ctx, key, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil
	}
	return err
}

// CreateAsync is Create without waiting: it publishes the record to the
// bucket's subject on the condition that the key has no value yet, and
// returns the future of the publish. A batch of records then costs one
// wait instead of one round trip each. Pass the future's error to
// CreateFailed, which treats an existing record as success, as Create
// does.
func (s *Store) CreateAsync(js jetstream.JetStream, d *v1.Delivery) (jetstream.PubAckFuture, error) {
	b, err := proto.Marshal(d)
	if err != nil {
		return nil, err
	}
	key := ReplayKey(d.GetEventId(), d.GetEventSource(), d.GetBus(), d.GetRule(),
		d.GetTargetId(), d.GetReplayId())
	msg := nats.NewMsg("$KV." + s.kv.Bucket() + "." + key)
	msg.Data = b
	// Records are never deleted, only expired, so a key without a value
	// has no messages at all and sequence 0 is the right condition.
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	return js.PublishMsgAsync(msg)
}

// CreateFailed reports whether err, from a CreateAsync future, means the
// record was not stored. A record that exists already is not a failure.
func CreateFailed(err error) bool {
	return err != nil && !isConflict(err)
}

// Snapshot is a record as read from the bucket, with the revision an
// update must match. A key without a value reads as an empty record at
// revision 0.
type Snapshot struct {
	Record   *v1.Delivery
	Revision uint64
}

// Read returns the stored record of key, or an empty one when the key
// has no value, since the record may have expired or never been
// created.
func (s *Store) Read(ctx context.Context, key string) (*Snapshot, error) {
	entry, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &Snapshot{Record: &v1.Delivery{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery record: %w", err)
	}
	d := &v1.Delivery{}
	if err := proto.Unmarshal(entry.Value(), d); err != nil {
		return nil, fmt.Errorf("decode delivery record %s: %w", key, err)
	}
	return &Snapshot{Record: d, Revision: entry.Revision()}, nil
}

// Update applies change to the stored record, retrying when another
// writer got there first. A missing record starts from an empty one.
func (s *Store) Update(ctx context.Context, key string, change func(*v1.Delivery)) error {
	return s.UpdateFrom(ctx, key, nil, change)
}

// UpdateFrom is Update starting from snap, a Read of key made earlier,
// which saves a round trip when the caller has just read the record.
// The snapshot's record is changed in place. When the stored record has
// moved on since, the write conflicts and the loop reads it again. A
// nil snap reads first.
func (s *Store) UpdateFrom(ctx context.Context, key string, snap *Snapshot,
	change func(*v1.Delivery)) error {
	for range maxUpdateTries {
		if snap == nil {
			var err error
			if snap, err = s.Read(ctx, key); err != nil {
				return err
			}
		}

		change(snap.Record)
		b, err := proto.Marshal(snap.Record)
		if err != nil {
			return err
		}
		if snap.Revision == 0 {
			_, err = s.kv.Create(ctx, key, b)
		} else {
			_, err = s.kv.Update(ctx, key, b, snap.Revision)
		}
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return fmt.Errorf("write delivery record: %w", err)
		}
		snap = nil
	}
	return fmt.Errorf("write delivery record %s: %d conflicting writers", key, maxUpdateTries)
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// List returns every record of an event, in key order.
func (s *Store) List(ctx context.Context, eventID string) ([]*v1.Delivery, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, eventKey(eventID)+".>")
	if err != nil {
		return nil, fmt.Errorf("list delivery records: %w", err)
	}
	var keys []string
	for key := range lister.Keys() {
		keys = append(keys, key)
	}
	sort.Strings(keys)

	var out []*v1.Delivery
	for _, key := range keys {
		entry, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read delivery record: %w", err)
		}
		d := &v1.Delivery{}
		if err := proto.Unmarshal(entry.Value(), d); err != nil {
			return nil, fmt.Errorf("decode delivery record %s: %w", key, err)
		}
		out = append(out, d)
	}
	return out, nil
}
