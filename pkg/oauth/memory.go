package oauth

import (
	"sync"
	"time"
)

// memoryTokens caches tokens in this process. Keys carry a connection's
// revision, so old revisions stop being asked for; a sweep drops them
// once they expire. It is safe for concurrent use.
type memoryTokens struct {
	mu        sync.Mutex
	tokens    map[string]cachedToken
	lastSweep time.Time
}

// cachedToken is a token with the time from which it is no longer
// handed out.
type cachedToken struct {
	AccessToken string    `json:"access_token"`
	RefreshAt   time.Time `json:"refresh_at"`
}

// sweepInterval is the least time between two sweeps of expired tokens.
const sweepInterval = time.Minute

func newMemoryTokens() *memoryTokens {
	return &memoryTokens{tokens: make(map[string]cachedToken)}
}

func (m *memoryTokens) get(key string, now time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()

	t, ok := m.tokens[key]
	if !ok || !now.Before(t.RefreshAt) {
		return "", false
	}
	return t.AccessToken, true
}

func (m *memoryTokens) set(key string, t cachedToken, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()

	m.tokens[key] = t
	if now.Sub(m.lastSweep) < sweepInterval {
		return
	}
	m.lastSweep = now
	for k, t := range m.tokens {
		if !now.Before(t.RefreshAt) {
			delete(m.tokens, k)
		}
	}
}

// deleteIf drops the token of key if it is accessToken, or whatever
// token there is when accessToken is empty.
func (m *memoryTokens) deleteIf(key, accessToken string) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if t, ok := m.tokens[key]; ok && (accessToken == "" || t.AccessToken == accessToken) {
		delete(m.tokens, key)
	}
}
