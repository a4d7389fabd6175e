package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	switchyardv1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// BusGetter looks up a bus in the config service. A
// switchyardv1.ConfigServiceClient implements it. GetBus must fail with
// gRPC code NotFound for an unknown bus; any other error counts as the
// config service being unavailable.
type BusGetter interface {
	GetBus(ctx context.Context, in *switchyardv1.GetBusRequest, opts ...grpc.CallOption) (*switchyardv1.Bus, error)
}

// DefaultBus always exists, so ingest never looks it up.
const DefaultBus = "default"

// Cache lifetimes. A known bus is dropped early when config announces a
// change to it, and the lifetime bounds how long a missed notice
// matters. An unknown bus is cached briefly, so a burst of events to a
// wrong name costs one lookup and a bus just created is usable soon
// after.
const (
	knownBusTTL   = 5 * time.Minute
	unknownBusTTL = 2 * time.Second
	lookupTimeout = 5 * time.Second
)

// busCache reports whether a bus exists. Concurrent requests for one
// name share a single lookup. It is safe for concurrent use.
type busCache struct {
	getter         BusGetter
	nc             *nats.Conn
	log            *slog.Logger
	lookupWarnings *throttle

	mu       sync.Mutex
	entries  map[string]busEntry
	inflight map[string]*busLookup
	// generation grows with each invalidation, so a lookup that started
	// before one does not cache its possibly stale result.
	generation uint64
	// reconnects is the connection's reconnect count when the cache was
	// last valid. Notices published while disconnected are lost, so a
	// reconnect empties the cache.
	reconnects uint64
}

type busEntry struct {
	exists  bool
	expires time.Time
}

type busLookup struct {
	done   chan struct{}
	exists bool
	err    error
}

func newBusCache(getter BusGetter, nc *nats.Conn, log *slog.Logger) *busCache {
	return &busCache{
		getter:     getter,
		nc:         nc,
		log:        log,
		entries:    make(map[string]busEntry),
		inflight:   make(map[string]*busLookup),
		reconnects: nc.Stats().Reconnects,

		lookupWarnings: newThrottle(),
	}
}

// check returns nil when bus exists, or the failure to report:
// UnknownBus, or ServiceUnavailable when config could not be asked.
func (c *busCache) check(ctx context.Context, bus string) *failure {
	if bus == DefaultBus {
		return nil
	}
	exists, err := c.exists(ctx, bus)
	if err != nil {
		return fail(CodeServiceUnavailable,
			"could not check whether bus %q exists: %v; retry later", bus, err)
	}
	if !exists {
		return fail(CodeUnknownBus,
			"bus %q does not exist; create it with `switchyard bus create %s`", bus, bus)
	}
	return nil
}

func (c *busCache) exists(ctx context.Context, bus string) (bool, error) {
	c.mu.Lock()
	c.dropAfterReconnect()
	if e, ok := c.entries[bus]; ok && time.Now().Before(e.expires) {
		c.mu.Unlock()
		return e.exists, nil
	}
	lookup, ok := c.inflight[bus]
	if !ok {
		lookup = &busLookup{done: make(chan struct{})}
		c.inflight[bus] = lookup
		go c.lookup(bus, lookup, c.generation)
	}
	c.mu.Unlock()

	select {
	case <-lookup.done:
		return lookup.exists, lookup.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// lookup queries config for bus. It runs detached from the request that
// started it, because other requests may be waiting for the same result.
func (c *busCache) lookup(bus string, l *busLookup, generation uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()

	_, err := c.getter.GetBus(ctx, &switchyardv1.GetBusRequest{Name: bus})
	switch status.Code(err) {
	case codes.OK:
		l.exists = true
	case codes.NotFound:
		l.exists = false
	default:
		l.err = fmt.Errorf("%w: get bus %q: %w", errConfigUnavailable, bus, err)
		c.lookupWarnings.warn(c.log, "bus lookup failed", "bus", bus, "error", err)
	}

	c.mu.Lock()
	delete(c.inflight, bus)
	if l.err == nil && generation == c.generation {
		ttl := unknownBusTTL
		if l.exists {
			ttl = knownBusTTL
		}
		c.entries[bus] = busEntry{exists: l.exists, expires: time.Now().Add(ttl)}
	}
	c.mu.Unlock()
	close(l.done)
}

// dropAfterReconnect empties the cache after a reconnect. The caller
// holds c.mu.
func (c *busCache) dropAfterReconnect() {
	reconnects := c.nc.Stats().Reconnects
	if reconnects == c.reconnects {
		return
	}
	c.reconnects = reconnects
	c.entries = make(map[string]busEntry)
	c.generation++
}

// invalidate drops one bus from the cache, or every bus when bus is "".
func (c *busCache) invalidate(bus string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bus == "" {
		c.entries = make(map[string]busEntry)
	} else {
		delete(c.entries, bus)
	}
	c.generation++
}

// onChange handles a notice from config.changes. A notice that cannot
// be decoded empties the cache, which costs lookups but never serves a
// stale result.
func (c *busCache) onChange(data []byte) {
	change := &internalv1.ConfigChange{}
	if err := proto.Unmarshal(data, change); err != nil {
		c.log.Warn("config change notice not decoded, forgetting every bus", "error", err)
		c.invalidate("")
		return
	}
	if change.GetKind() == internalv1.ChangeKind_CHANGE_KIND_BUS {
		c.invalidate(change.GetName())
	}
}

// maxBusNameLength bounds a bus name, which becomes a subject token.
const maxBusNameLength = 128

// checkBusName accepts names that are safe as one NATS subject token:
// letters, digits, '-' and '_'.
func checkBusName(bus string) *failure {
	valid := bus != "" && len(bus) <= maxBusNameLength
	for _, r := range bus {
		if !isNameRune(r) {
			valid = false
			break
		}
	}
	if !valid {
		return fail(CodeInvalidBusName,
			"bus name %q is invalid; use 1 to %d letters, digits, '-' or '_'",
			bus, maxBusNameLength)
	}
	return nil
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_'
}
