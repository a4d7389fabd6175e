package delivery

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/oauth"
	"github.com/switchyard-dev/switchyard/pkg/rediscache"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/auth"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// cacheKeyInfo is the HKDF context string of the cache encryption key.
// Changing it makes every value in Redis unreadable.
const cacheKeyInfo = "switchyard delivery cache"

// CacheKey derives the AES-256 key that seals delivery's values in
// Redis, resolved destinations with their credentials and OAuth access
// tokens, from the internal token with HKDF-SHA256.
//
// The internal token suits this because every delivery replica already
// has it, to call config's resolver, and no other key needs to be
// distributed. Redis is thus never trusted with a secret in the clear:
// whoever reads Redis without the token learns nothing, and rotating
// the token makes the old values unreadable, so they are dropped and
// fetched again.
func CacheKey(internalToken string) ([]byte, error) {
	if internalToken == "" {
		return nil, errors.New("delivery: the internal token is required to derive the cache key")
	}
	return hkdf.Key(sha256.New, []byte(internalToken), nil, cacheKeyInfo, rediscache.KeySize)
}

// redisPrefix returns the prefix of delivery's Redis keys of one cache,
// with the topology prefix in it, so installations and tests that share
// a Redis server do not read each other's values.
func redisPrefix(cfg Config, cache string) string {
	if cfg.Topology.Prefix == "" {
		return "switchyard:" + cache + ":"
	}
	return "switchyard:" + cfg.Topology.Prefix + ":" + cache + ":"
}

// credentials are the caches and recorders behind signing requests.
type credentials struct {
	// shared is the destination cache in Redis, nil without Redis.
	shared *rediscache.Cache
	signer *auth.Signer
	states *connectionStates
}

// newCredentials builds the OAuth token cache, in Redis or in memory,
// the shared destination cache when Redis is configured, and the
// connection state recorder.
func newCredentials(ctx context.Context, cfg Config, js jetstream.JetStream) (*credentials, error) {
	var client redis.UniversalClient
	var key []byte
	if cfg.Redis != nil {
		client = cfg.Redis
		var err error
		if key, err = CacheKey(cfg.InternalToken); err != nil {
			return nil, err
		}
	}

	tokens, err := oauth.New(oauth.Config{
		Redis:         client,
		EncryptionKey: key,
		Prefix:        redisPrefix(cfg, "oauth"),
		Logger:        cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	kv, err := js.KeyValue(ctx, cfg.Topology.Bucket(streams.BucketConnectionState))
	if err != nil {
		return nil, fmt.Errorf("delivery: open connection states: %w", err)
	}
	c := &credentials{
		signer: auth.NewSigner(tokens),
		states: newConnectionStates(kv, cfg.Logger),
	}
	if client == nil {
		return c, nil
	}

	c.shared, err = rediscache.New(rediscache.Config{
		Redis:         client,
		EncryptionKey: key,
		Prefix:        redisPrefix(cfg, "destinations"),
		TTL:           cfg.CacheTTL,
		Logger:        cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	return c, nil
}

// destinationCache returns the cache of resolved destinations, with
// the shared layer when Redis is configured.
func (c *credentials) destinationCache(cfg Config) *destinationCache {
	cache := newDestinationCache(cfg.Resolver, cfg.CacheTTL)
	cache.shared = c.shared
	return cache
}

// signError wraps an error of signing for classification. A token
// endpoint that gave no token may give one later, while settings that
// cannot make a token request will not change by retrying. A token
// request that the network guard rejected keeps netguard.ErrRejected in
// its chain, so it fails for good.
func signError(connection string, err error) error {
	var tokenErr *oauth.TokenError
	switch {
	case errors.Is(err, oauth.ErrInvalidConfig):
		return fmt.Errorf("%w: connection %s: %w", retry.ErrConfig, connection, err)
	case errors.As(err, &tokenErr):
		return fmt.Errorf("%w: connection %s: %w", retry.ErrAuth, connection, err)
	}
	return fmt.Errorf("connection %s: %w", connection, err)
}

// tokenStatus returns the HTTP status of a failed token request, or 0
// when err did not come with a token response.
func tokenStatus(err error) int {
	var tokenErr *oauth.TokenError
	if errors.As(err, &tokenErr) {
		return tokenErr.StatusCode
	}
	return 0
}

// secretsOf returns the values to remove from what an attempt stores:
// the connection's secrets and the access token the attempt used.
func secretsOf(c *v1.Connection, token string) []string {
	secrets := auth.Secrets(c)
	if token != "" {
		secrets = append(secrets, token)
	}
	return secrets
}

// credentialRejected reports whether the endpoint itself rejected the
// credential, with 401 or 407. A token request that failed is not
// such a rejection: a fresh credential would fail the same way.
func credentialRejected(res attemptResult) bool {
	return res.status == http.StatusUnauthorized ||
		res.status == http.StatusProxyAuthRequired
}
