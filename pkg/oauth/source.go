// Package oauth fetches and caches OAuth 2.0 access tokens with the
// client credentials grant (RFC 6749 section 4.4) for connections of
// type oauth_client_credentials.
//
// POST token requests go through golang.org/x/oauth2/clientcredentials.
// This package adds GET and PUT token requests and parameters in
// headers and the query string, which x/oauth2 does not offer.
//
// # Caching
//
// A token is cached under a key that the caller builds from the
// connection's name and revision, so an updated connection gets a new
// token. It is handed out until shortly before expires_in runs out: 10%
// of the lifetime or 30 seconds early, whichever is less. Without
// expires_in, the lifetime is Config.DefaultLifetime.
//
// With Redis, all replicas share the cache. Tokens are sealed with
// AES-256-GCM there, so Redis never holds one in the clear. Without
// Redis, each process caches in memory.
//
// # One request at a time
//
// Concurrent Token calls for one key in a process share one token
// request. Across replicas, the replica that takes a short Redis lock
// (SET NX PX) makes the request while the others poll Redis for its
// token, for at most Config.LockWait before they make their own.
//
// When Redis fails, a Source works from memory: each process then makes
// its own token request, still one at a time per key. It logs a warning
// at most once a minute and tries Redis again after Config.RetryAfter.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/singleflight"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
	"github.com/switchyard-dev/switchyard/pkg/rediscache"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix       = "switchyard:oauth:"
	DefaultFetchTimeout = 30 * time.Second
	DefaultLockWait     = 10 * time.Second
	DefaultLifetime     = 5 * time.Minute
	DefaultRetryAfter   = 5 * time.Second
)

// A token stops being handed out refreshMarginPercent of its lifetime
// before it expires, but never more than maxRefreshMargin before.
const (
	maxRefreshMargin     = 30 * time.Second
	refreshMarginPercent = 10
)

// Config configures a Source.
type Config struct {
	// Redis shares tokens between replicas. Nil caches in memory only.
	Redis redis.UniversalClient
	// EncryptionKey is the AES-256 key, 32 bytes, that seals tokens in
	// Redis. Required when Redis is set.
	EncryptionKey []byte
	// Prefix goes in front of every Redis key.
	Prefix string
	// HTTPClient sends token requests unless the context carries one
	// from WithHTTPClient. The default client follows no redirects.
	HTTPClient *http.Client
	// FetchTimeout bounds one token request. It is also the lifetime of
	// the Redis lock, so a crashed replica holds the lock no longer.
	FetchTimeout time.Duration
	// LockWait bounds how long a replica waits for another replica's
	// token request before it makes its own.
	LockWait time.Duration
	// DefaultLifetime is the lifetime of a token that came without
	// expires_in.
	DefaultLifetime time.Duration
	// RetryAfter is how long a Source works from memory after Redis
	// fails, before it tries Redis again.
	RetryAfter time.Duration
	// Logger receives the warning when Redis fails. Required.
	Logger *slog.Logger
	// MeterProvider provides the counters; nil means the global one.
	MeterProvider metric.MeterProvider
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = DefaultFetchTimeout
	}
	if c.LockWait <= 0 {
		c.LockWait = DefaultLockWait
	}
	if c.DefaultLifetime <= 0 {
		c.DefaultLifetime = DefaultLifetime
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.MeterProvider == nil {
		c.MeterProvider = otel.GetMeterProvider()
	}
}

// Source hands out access tokens, fetching them when the cache has
// none. It is safe for concurrent use.
type Source struct {
	cfg     Config
	cipher  *rediscache.Cipher
	memory  *memoryTokens
	group   singleflight.Group
	metrics metrics
	// unavailable warns that Redis failed; corrupt warns that a token
	// in Redis did not decrypt.
	unavailable *logthrottle.Warning
	corrupt     *logthrottle.Warning
	// redisDownUntil is the Unix nanosecond time before which the
	// Source works from memory.
	redisDownUntil atomic.Int64
}

// New returns a Source. It does not contact Redis.
func New(cfg Config) (*Source, error) {
	if cfg.Logger == nil {
		return nil, errors.New("oauth: Logger is required")
	}
	cfg.setDefaults()

	m, err := newMetrics(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("oauth: create metrics: %w", err)
	}
	s := &Source{
		cfg:     cfg,
		memory:  newMemoryTokens(),
		metrics: m,
		unavailable: &logthrottle.Warning{
			Logger:  cfg.Logger,
			Message: "oauth token cache redis unavailable, using memory only",
		},
		corrupt: &logthrottle.Warning{
			Logger:  cfg.Logger,
			Message: "oauth token in redis does not decrypt, check that all replicas share the encryption key",
		},
	}
	if cfg.Redis != nil {
		if s.cipher, err = rediscache.NewCipher(cfg.EncryptionKey); err != nil {
			return nil, fmt.Errorf("oauth: %w", err)
		}
	}
	return s, nil
}

type httpClientKey struct{}

// WithHTTPClient returns a context that makes Token send its request
// through client, for example one that enforces the connection's
// network policy.
func WithHTTPClient(ctx context.Context, client *http.Client) context.Context {
	return context.WithValue(ctx, httpClientKey{}, client)
}

func (s *Source) httpClient(ctx context.Context) *http.Client {
	if c, ok := ctx.Value(httpClientKey{}).(*http.Client); ok && c != nil {
		return c
	}
	return s.cfg.HTTPClient
}

// Token returns the cached access token of key, or fetches one with
// creds. Key must change whenever creds change, so the connection name
// with its revision makes a good key.
//
// Errors are ErrInvalidConfig, *TokenError, and the context's error when
// ctx ends first. A request that other callers still wait for goes on
// after ctx ends, bounded by Config.FetchTimeout.
func (s *Source) Token(ctx context.Context, key string, creds *v1.OAuthClientCredentials) (string, error) {
	req, err := newRequest(creds)
	if err != nil {
		return "", err
	}

	token, ok := s.cached(ctx, key)
	s.metrics.lookup(ctx, ok)
	if ok {
		return token, nil
	}

	// The request runs without the first caller's cancellation, since
	// every caller waiting for it would otherwise fail with that caller.
	detached := context.WithoutCancel(ctx)
	results := s.group.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(detached, s.cfg.FetchTimeout)
		defer cancel()
		return s.fetchShared(ctx, key, req)
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-results:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	}
}

// Invalidate drops the cached token of key if it is still token, the
// one an endpoint rejected with 401 or 407. A token that another caller
// fetched since stays, so many deliveries that failed with one token
// cause one new token request, not one each. An empty token drops
// whatever token key has.
//
// Invalidate tries Redis even while the Source works from memory. If
// Redis still fails, the rejected token stays there until it expires.
// This process does not read it while it works from memory, but other
// replicas may.
func (s *Source) Invalidate(ctx context.Context, key, token string) {
	s.memory.deleteIf(key, token)
	if s.cfg.Redis == nil {
		return
	}
	if err := s.redisInvalidate(ctx, key, token); err != nil {
		s.redisFailed(ctx, "invalidate", err)
	}
}

// cached returns the token of key from Redis, or from memory when
// Redis is not configured or failed. A token read from Redis is kept in
// memory too, so this process still has it if Redis fails next.
func (s *Source) cached(ctx context.Context, key string) (string, bool) {
	if s.redisUp() {
		t, _, ok, err := s.redisGet(ctx, key)
		if err == nil {
			if ok {
				s.memory.set(key, t, time.Now())
			}
			return t.AccessToken, ok
		}
		s.redisFailed(ctx, "get", err)
	}
	return s.memory.get(key, time.Now())
}

// fetchShared makes the token request of key unless another replica is
// making it, in which case it waits for that replica's token.
func (s *Source) fetchShared(ctx context.Context, key string, req *request) (string, error) {
	if !s.redisUp() {
		return s.fetchAndStore(ctx, key, req)
	}

	deadline := time.Now().Add(s.cfg.LockWait)
	for {
		t, _, ok, err := s.redisGet(ctx, key)
		if err != nil {
			s.redisFailed(ctx, "get", err)
			return s.fetchAndStore(ctx, key, req)
		}
		if ok {
			return t.AccessToken, nil
		}

		release, err := s.tryLock(ctx, key)
		if err != nil {
			s.redisFailed(ctx, "lock", err)
			return s.fetchAndStore(ctx, key, req)
		}
		if release != nil {
			defer release()
			return s.fetchLocked(ctx, key, req)
		}

		if time.Now().After(deadline) {
			// The replica holding the lock is slow or gone.
			return s.fetchAndStore(ctx, key, req)
		}
		if err := sleep(ctx, lockPollInterval); err != nil {
			return "", &TokenError{Err: err}
		}
	}
}

// fetchLocked runs while this replica holds the lock of key. The last
// holder may have stored its token between our read and our lock, so
// Redis is read once more before the request.
func (s *Source) fetchLocked(ctx context.Context, key string, req *request) (string, error) {
	t, _, ok, err := s.redisGet(ctx, key)
	if err == nil && ok {
		return t.AccessToken, nil
	}
	return s.fetchAndStore(ctx, key, req)
}

// fetchAndStore makes the token request and caches the token in
// memory and, while it works, in Redis.
func (s *Source) fetchAndStore(ctx context.Context, key string, req *request) (string, error) {
	start := time.Now()
	f, err := req.fetch(ctx, s.httpClient(ctx))
	s.metrics.fetch(ctx, err)
	if err != nil {
		return "", err
	}

	t := cachedToken{
		AccessToken: f.accessToken,
		RefreshAt:   refreshAt(start, f.expiresIn, s.cfg.DefaultLifetime),
	}
	s.memory.set(key, t, time.Now())
	if s.redisUp() {
		if err := s.redisSet(ctx, key, t); err != nil {
			s.redisFailed(ctx, "set", err)
		}
	}
	return t.AccessToken, nil
}

// refreshAt returns when a token requested at start stops being handed
// out: 10% of its lifetime or 30 seconds before it expires, whichever is
// less, so a request signed with it does not arrive with an expired one.
func refreshAt(start time.Time, expiresIn, defaultLifetime time.Duration) time.Time {
	lifetime := expiresIn
	if lifetime <= 0 {
		lifetime = defaultLifetime
	}
	margin := min(maxRefreshMargin, lifetime*refreshMarginPercent/100)
	return start.Add(lifetime - margin)
}

func (s *Source) redisUp() bool {
	return s.cfg.Redis != nil && time.Now().UnixNano() >= s.redisDownUntil.Load()
}

// redisFailed makes the Source work from memory for a while and warns.
// An ended context is not a Redis failure, so it changes nothing.
func (s *Source) redisFailed(ctx context.Context, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	s.redisDownUntil.Store(now.Add(s.cfg.RetryAfter).UnixNano())
	s.unavailable.Warn(now, slog.String("op", op), slog.Any("error", fmt.Errorf("redis: %w", err)))
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
