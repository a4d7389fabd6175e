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

	"github.com/switchyard-dev/switchyard/pkg/rediscache"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
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

// sharedTimeout bounds one round of calls to the shared cache, so a
// slow Redis delays a delivery or a change notice by no more than this.
const sharedTimeout = 2 * time.Second

// destinationCache keeps resolved destinations in memory and, when
// shared is set, in a cache that all replicas share through Redis.
// Entries are dropped when config announces a change of the destination
// or of its connection, and expire after a TTL, because change notices
// travel on core NATS and can be missed.
//
// The shared cache holds destinations and connections under keys of
// their own, "dest:<name>" and "conn:<name>", so a change notice drops
// exactly one key there whatever the number of destinations that use a
// connection. Its values hold decrypted credentials and are sealed.
type destinationCache struct {
	resolver Resolver
	ttl      time.Duration
	// shared is nil when no Redis is configured; the memory map is then
	// the only cache.
	shared *rediscache.Cache

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

// get returns the destination from memory, the shared cache or config.
// A destination or connection that config does not know wraps
// retry.ErrDestinationNotFound. The result must not be modified.
func (c *destinationCache) get(ctx context.Context, name string) (*internalv1.ResolvedDestination, error) {
	if r := c.peek(name); r != nil {
		return r, nil
	}

	c.mu.Lock()
	gen := c.generation
	c.mu.Unlock()

	r, fromShared := c.getShared(ctx, name)
	if !fromShared {
		var err error
		if r, err = c.resolve(ctx, name); err != nil {
			return nil, err
		}
	}

	c.mu.Lock()
	current := c.generation == gen
	if current {
		c.entries[name] = cacheEntry{resolved: r, expires: time.Now().Add(c.ttl)}
	}
	c.mu.Unlock()
	if current && !fromShared {
		c.setShared(ctx, r)
	}
	return r, nil
}

// resolve calls config's Resolver for the destination.
func (c *destinationCache) resolve(ctx context.Context,
	name string) (*internalv1.ResolvedDestination, error) {
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
	return r, nil
}

func destinationKey(name string) string { return "dest:" + name }
func connectionKey(name string) string  { return "conn:" + name }

// getShared reads the destination and its connection from the shared
// cache. A miss of either, a Redis failure or an undecodable value
// returns false, so the caller asks config.
func (c *destinationCache) getShared(ctx context.Context,
	name string) (*internalv1.ResolvedDestination, bool) {
	if c.shared == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()

	dest := &v1.ApiDestination{}
	if !c.getMessage(ctx, destinationKey(name), dest) || dest.GetName() != name {
		return nil, false
	}
	conn := &v1.Connection{}
	if !c.getMessage(ctx, connectionKey(dest.GetConnection()), conn) ||
		conn.GetName() != dest.GetConnection() {
		return nil, false
	}
	return &internalv1.ResolvedDestination{ApiDestination: dest, Connection: conn}, true
}

func (c *destinationCache) getMessage(ctx context.Context, key string, m proto.Message) bool {
	b, ok := c.shared.Get(ctx, key)
	return ok && proto.Unmarshal(b, m) == nil
}

// setShared stores the destination and its connection in the shared
// cache. A failure leaves them out, which costs other replicas a call
// to config.
func (c *destinationCache) setShared(ctx context.Context, r *internalv1.ResolvedDestination) {
	if c.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()

	dest, err := proto.Marshal(r.GetApiDestination())
	if err != nil {
		return
	}
	conn, err := proto.Marshal(r.GetConnection())
	if err != nil {
		return
	}
	c.shared.Set(ctx, connectionKey(r.GetConnection().GetName()), conn)
	c.shared.Set(ctx, destinationKey(r.GetApiDestination().GetName()), dest)
}

// drop removes one destination and its connection, in memory and in
// the shared cache, so the next get calls config again.
func (c *destinationCache) drop(ctx context.Context, name string) {
	c.mu.Lock()
	c.generation++
	conn := c.entries[name].resolved.GetApiDestination().GetConnection()
	delete(c.entries, name)
	c.mu.Unlock()

	c.deleteShared(ctx, destinationKey(name))
	if conn != "" {
		c.deleteShared(ctx, connectionKey(conn))
	}
}

func (c *destinationCache) deleteShared(ctx context.Context, key string) {
	if c.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()
	c.shared.Delete(ctx, key)
}

// apply drops the entries that a configuration change affects: the
// destination itself, or every destination that uses a connection.
// Every replica receives the notice and deletes the one shared key, so
// the deletion reaches Redis even when some replicas are down.
func (c *destinationCache) apply(ch *internalv1.ConfigChange) {
	var sharedKey string
	c.mu.Lock()
	switch ch.GetKind() {
	case internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION:
		delete(c.entries, ch.GetName())
		sharedKey = destinationKey(ch.GetName())
	case internalv1.ChangeKind_CHANGE_KIND_CONNECTION:
		for name, e := range c.entries {
			if e.resolved.GetApiDestination().GetConnection() == ch.GetName() {
				delete(c.entries, name)
			}
		}
		sharedKey = connectionKey(ch.GetName())
	default:
		c.mu.Unlock()
		return
	}
	c.generation++
	c.mu.Unlock()

	c.deleteShared(context.Background(), sharedKey)
}

// onChange decodes a change notice and applies it. An undecodable
// notice drops everything in memory, the safe reading of "something
// changed".
//
// NOTE: the shared cache cannot be listed, so its entries stay after an
// undecodable notice until their TTL runs out.
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
