package config

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxWriteTries bounds the compare-and-swap loop of a write. Conflicts
// only happen when writers of the same object race.
const maxWriteTries = 8

// object is a stored configuration message. Each kind has an int64
// field named revision, which holds the KV revision when it is read.
type object interface {
	proto.Message
	GetRevision() int64
}

// maxObjectSize bounds the encoded size of one object, well under the
// 1 MiB default maximum payload of a NATS server.
const maxObjectSize = 256 << 10

// bucket stores one kind of object as protobuf values in a JetStream
// key-value bucket.
type bucket[T object] struct {
	kv jetstream.KeyValue
	// newObject returns an empty T to decode into.
	newObject func() T
}

func newBucket[T object](kv jetstream.KeyValue, newObject func() T) bucket[T] {
	return bucket[T]{kv: kv, newObject: newObject}
}

// get returns the stored object at key with its revision set. label,
// such as `bus "default"`, names the object in a not-found error.
func (b *bucket[T]) get(ctx context.Context, key, label string) (T, error) {
	var zero T
	entry, err := b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return zero, classErrorf(ErrNotFound, "%s not found", label)
	}
	if err != nil {
		return zero, fmt.Errorf("read %s: %w", label, err)
	}
	return b.decode(entry)
}

// exists reports whether key holds an object.
func (b *bucket[T]) exists(ctx context.Context, key, label string) (bool, error) {
	_, err := b.get(ctx, key, label)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (b *bucket[T]) decode(entry jetstream.KeyValueEntry) (T, error) {
	o := b.newObject()
	if err := proto.Unmarshal(entry.Value(), o); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %s: %w", entry.Key(), err)
	}
	setRevision(o, entry.Revision())
	return o, nil
}

// list returns the objects whose keys match filter, a KV key pattern
// such as ">" or "default.*", in key order.
//
// NOTE: the watch behind it creates an ephemeral consumer. On a
// three-server cluster of nats-server 2.9.10 with one server stopped,
// such lists timed out now and then, while gets, which read directly,
// did not. On 2.15.3 every list returned in the same test.
func (b *bucket[T]) list(ctx context.Context, filter string) ([]T, error) {
	w, err := b.kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", filter, err)
	}
	defer w.Stop()

	type keyed struct {
		key string
		o   T
	}
	var found []keyed
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case entry, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("list %s: the watcher stopped before the last entry", filter)
			}
			if entry == nil {
				slices.SortFunc(found, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
				out := make([]T, len(found))
				for i, k := range found {
					out[i] = k.o
				}
				return out, nil
			}
			o, err := b.decode(entry)
			if err != nil {
				return nil, err
			}
			found = append(found, keyed{entry.Key(), o})
		}
	}
}

// create stores o at key unless the key holds an object, and returns
// the new revision.
func (b *bucket[T]) create(ctx context.Context, key, label string, o T) (uint64, error) {
	data, err := marshalStored(label, o)
	if err != nil {
		return 0, err
	}
	rev, err := b.kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, classErrorf(ErrAlreadyExists, "%s already exists", label)
	}
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", label, err)
	}
	return rev, nil
}

// update replaces the object at key with change's result. A non-zero
// want must equal the stored revision. The write is conditional on the
// revision that was read, and a conflict with another writer starts
// over from a fresh read, where want is checked again. It returns the
// new object with its revision set.
func (b *bucket[T]) update(ctx context.Context, key, label string, want int64,
	change func(stored T) (T, error),
) (T, error) {
	var zero T
	for range maxWriteTries {
		stored, err := b.get(ctx, key, label)
		if err != nil {
			return zero, err
		}
		if err := checkRevision(want, stored.GetRevision()); err != nil {
			return zero, err
		}

		next, err := change(stored)
		if err != nil {
			return zero, err
		}
		data, err := marshalStored(label, next)
		if err != nil {
			return zero, err
		}
		rev, err := b.kv.Update(ctx, key, data, uint64(stored.GetRevision()))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return zero, fmt.Errorf("update %s: %w", label, err)
		}
		setRevision(next, rev)
		return next, nil
	}
	return zero, classErrorf(ErrStaleRevision,
		"%s changed %d times while being written; get it again and retry", label, maxWriteTries)
}

// remove deletes the object at key, after check accepts the stored
// object. want works as in update. It returns the deleted object.
func (b *bucket[T]) remove(ctx context.Context, key, label string, want int64,
	check func(stored T) error,
) (T, error) {
	var zero T
	for range maxWriteTries {
		stored, err := b.get(ctx, key, label)
		if err != nil {
			return zero, err
		}
		if err := checkRevision(want, stored.GetRevision()); err != nil {
			return zero, err
		}
		if err := check(stored); err != nil {
			return zero, err
		}

		err = b.kv.Delete(ctx, key, jetstream.LastRevision(uint64(stored.GetRevision())))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return zero, fmt.Errorf("delete %s: %w", label, err)
		}
		return stored, nil
	}
	return zero, classErrorf(ErrStaleRevision,
		"%s changed %d times while being deleted; get it again and retry", label, maxWriteTries)
}

func checkRevision(want, stored int64) error {
	if want == 0 || want == stored {
		return nil
	}
	return classErrorf(ErrStaleRevision,
		"stale revision: have %d, stored %d; get the object again and retry", want, stored)
}

// marshalStored encodes o without its revision, which the KV stores.
func marshalStored(label string, o object) ([]byte, error) {
	c := proto.Clone(o)
	setRevision(c, 0)
	data, err := proto.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", label, err)
	}
	if len(data) > maxObjectSize {
		return nil, invalidf(requestField(o), "%s is %d bytes encoded; the maximum is %d, "+
			"so shorten its descriptions, patterns or templates", label, len(data), maxObjectSize)
	}
	return data, nil
}

// requestField returns the name of the request field that carries an
// object of o's kind: the message name in snake case, such as
// api_destination for ApiDestination.
func requestField(o object) string {
	var b strings.Builder
	for i, r := range string(o.ProtoReflect().Descriptor().Name()) {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// setRevision sets the revision field that every object kind has.
func setRevision(m proto.Message, rev uint64) {
	r := m.ProtoReflect()
	field := r.Descriptor().Fields().ByName("revision")
	r.Set(field, protoreflect.ValueOfInt64(int64(rev)))
}
