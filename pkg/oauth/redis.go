package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// lockPollInterval is how often a replica that waits for another
// replica's token request looks for the token in Redis.
const lockPollInterval = 50 * time.Millisecond

// compareAndDelete deletes KEYS[1] only if it still holds ARGV[1]. It
// releases a lock only while this caller holds it, and invalidates a
// token only while no newer token has replaced it.
var compareAndDelete = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

func (s *Source) tokenKey(key string) string { return s.cfg.Prefix + "token:" + key }
func (s *Source) lockKey(key string) string  { return s.cfg.Prefix + "lock:" + key }

// redisGet returns the token of key from Redis and the sealed value it
// came from. A value that does not decrypt counts as missing.
func (s *Source) redisGet(ctx context.Context, key string) (cachedToken, []byte, bool, error) {
	redisKey := s.tokenKey(key)
	sealed, err := s.cfg.Redis.Get(ctx, redisKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return cachedToken{}, nil, false, nil
	}
	if err != nil {
		return cachedToken{}, nil, false, err
	}

	plaintext, err := s.cipher.Open(sealed, []byte(redisKey))
	if err != nil {
		// Replicas with different encryption keys overwrite each
		// other's tokens, which this warning makes visible.
		s.corrupt.Warn(time.Now(), slog.String("key", key))
		return cachedToken{}, nil, false, nil
	}
	var t cachedToken
	if err := json.Unmarshal(plaintext, &t); err != nil || t.AccessToken == "" {
		return cachedToken{}, nil, false, nil
	}
	if !time.Now().Before(t.RefreshAt) {
		return cachedToken{}, nil, false, nil
	}
	return t, sealed, true, nil
}

// redisSet seals t and stores it until its refresh time.
func (s *Source) redisSet(ctx context.Context, key string, t cachedToken) error {
	ttl := time.Until(t.RefreshAt)
	if ttl <= 0 {
		return nil
	}
	plaintext, err := json.Marshal(t)
	if err != nil {
		return err
	}
	redisKey := s.tokenKey(key)
	sealed := s.cipher.Seal(plaintext, []byte(redisKey))
	return s.cfg.Redis.Set(ctx, redisKey, sealed, ttl).Err()
}

// redisInvalidate deletes the token of key if it is accessToken, or
// any token when accessToken is empty.
func (s *Source) redisInvalidate(ctx context.Context, key, accessToken string) error {
	if accessToken == "" {
		return s.cfg.Redis.Del(ctx, s.tokenKey(key)).Err()
	}
	t, sealed, ok, err := s.redisGet(ctx, key)
	if err != nil || !ok || t.AccessToken != accessToken {
		return err
	}
	return compareAndDelete.Run(ctx, s.cfg.Redis, []string{s.tokenKey(key)}, sealed).Err()
}

// tryLock takes the lock of key for lockTTL and returns a release
// function, or nil when another replica holds the lock.
func (s *Source) tryLock(ctx context.Context, key string) (func(), error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	owner := hex.EncodeToString(b)

	lockKey := s.lockKey(key)
	ok, err := s.cfg.Redis.SetNX(ctx, lockKey, owner, s.cfg.FetchTimeout).Result()
	if err != nil || !ok {
		return nil, err
	}
	release := func() {
		// The caller's context may have ended; the release must still
		// run so other replicas need not wait for the lock to expire.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = compareAndDelete.Run(ctx, s.cfg.Redis, []string{lockKey}, owner).Err()
	}
	return release, nil
}
