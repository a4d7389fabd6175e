package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// Resolver returns a destination with its connection and decrypted
// credentials. internalv1.ResolverClient implements it.
type Resolver interface {
	ResolveDestination(ctx context.Context, in *internalv1.ResolveDestinationRequest,
		opts ...grpc.CallOption) (*internalv1.ResolvedDestination, error)
}

// resolveTimeout bounds one call to the resolver, so a hung config
// service does not hold a task past its ack deadline.
const resolveTimeout = 10 * time.Second

// destinationCache keeps resolved destinations in memory. Entries are
// dropped when config announces a change of the destination or of its
// connection, and expire after a TTL, because change notices travel on
// core NATS and can be missed.
//
// TODO: put a shared Redis cache in front of the resolver, so replicas
// do not each ask config after a change.
type destinationCache struct {
	resolver Resolver
	ttl      time.Duration

	mu      sync.Mutex
	entries map[string]cacheEntry
	// generation grows with every invalidation. A resolve that started
	// before an invalidation does not store its now stale result.
	generation uint64
}

type cacheEntry struct {
	resolved *internalv1.ResolvedDestination
	expires  time.Time
}

func newDestinationCache(r Resolver, ttl time.Duration) *destinationCache {
	return &destinationCache{resolver: r, ttl: ttl, entries: map[string]cacheEntry{}}
}

// peek returns the cached destination or nil, without calling config.
func (c *destinationCache) peek(name string) *internalv1.ResolvedDestination {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok || time.Now().After(e.expires) {
		return nil
	}
	return e.resolved
}

// get returns the destination from the cache or from config. A
// destination or connection that config does not know wraps
// retry.ErrDestinationNotFound. The result must not be modified.
func (c *destinationCache) get(ctx context.Context, name string) (*internalv1.ResolvedDestination, error) {
	if r := c.peek(name); r != nil {
		return r, nil
	}

	c.mu.Lock()
	gen := c.generation
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	req := &internalv1.ResolveDestinationRequest{Name: name}
	r, err := c.resolver.ResolveDestination(ctx, req)
	if status.Code(err) == codes.NotFound {
		return nil, fmt.Errorf("%w: %s: %s", retry.ErrDestinationNotFound,
			name, status.Convert(err).Message())
	}
	if err != nil {
		return nil, fmt.Errorf("resolve destination %s: %w", name, err)
	}
	if r.GetApiDestination() == nil || r.GetConnection() == nil {
		return nil, fmt.Errorf("%w: resolve destination %s: response lacks the destination or connection", retry.ErrConfig, name)
	}

	c.mu.Lock()
	if c.generation == gen {
		c.entries[name] = cacheEntry{resolved: r, expires: time.Now().Add(c.ttl)}
	}
	c.mu.Unlock()
	return r, nil
}

// drop removes one destination, so the next get calls config again.
func (c *destinationCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	delete(c.entries, name)
}

// apply drops the entries that a configuration change affects: the
// destination itself, or every destination that uses a connection.
func (c *destinationCache) apply(ch *internalv1.ConfigChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ch.GetKind() {
	case internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION:
		delete(c.entries, ch.GetName())
	case internalv1.ChangeKind_CHANGE_KIND_CONNECTION:
		for name, e := range c.entries {
			if e.resolved.GetApiDestination().GetConnection() == ch.GetName() {
				delete(c.entries, name)
			}
		}
	default:
		return
	}
	c.generation++
}

// onChange decodes a change notice and applies it. An undecodable
// notice drops everything, the safe reading of "something changed".
func (c *destinationCache) onChange(data []byte) {
	ch := &internalv1.ConfigChange{}
	if err := proto.Unmarshal(data, ch); err != nil {
		c.mu.Lock()
		c.entries = map[string]cacheEntry{}
		c.generation++
		c.mu.Unlock()
		return
	}
	c.apply(ch)
}
