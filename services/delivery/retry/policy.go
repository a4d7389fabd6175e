package retry

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Defaults of a retry policy whose fields are unset.
const (
	DefaultMaxRetries  = 185
	DefaultMaxEventAge = 24 * time.Hour
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
)

// Policy bounds the retries of one delivery.
type Policy struct {
	// MaxRetries counts the attempts after the first, as the cloud
	// services' MaximumRetryAttempts does: 0 means one attempt only.
	MaxRetries int
	// MaxEventAge bounds the time from ingest to the last attempt.
	MaxEventAge time.Duration
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

// PolicyFrom fills the unset fields of p, which may be nil, with the
// defaults.
func PolicyFrom(p *v1.RetryPolicy) Policy {
	out := Policy{
		MaxRetries:  DefaultMaxRetries,
		MaxEventAge: DefaultMaxEventAge,
		BackoffBase: DefaultBackoffBase,
		BackoffMax:  DefaultBackoffMax,
	}
	if p == nil {
		return out
	}
	if p.MaxAttempts != nil {
		out.MaxRetries = max(0, int(p.GetMaxAttempts()))
	}
	if d := p.GetMaxEventAge().AsDuration(); d > 0 {
		out.MaxEventAge = d
	}
	if d := p.GetBackoffBase().AsDuration(); d > 0 {
		out.BackoffBase = d
	}
	if d := p.GetBackoffMax().AsDuration(); d > 0 {
		out.BackoffMax = d
	}
	return out
}

// CanRetry reports whether another attempt may follow attempt number
// attempt, counted from 1.
func (p Policy) CanRetry(attempt int) bool {
	return attempt <= p.MaxRetries
}

// Ceiling returns the largest backoff after attempt number attempt:
// min(BackoffMax, BackoffBase·2^(attempt-1)).
func (p Policy) Ceiling(attempt int) time.Duration {
	d := p.BackoffBase
	for i := 1; i < attempt && d < p.BackoffMax; i++ {
		d *= 2
	}
	return min(d, p.BackoffMax)
}

// Backoff returns a delay drawn uniformly from [0, Ceiling(attempt)],
// the full jitter that spreads retries of many deliveries apart.
func (p Policy) Backoff(attempt int) time.Duration {
	c := p.Ceiling(attempt)
	if c <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(c) + 1))
}

// ParseRetryAfter parses a Retry-After header value, either seconds or
// an HTTP date, into a delay from now. It returns false for an empty,
// negative or unparsable value, or a date in the past.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 || secs > int64(24*time.Hour/time.Second)*365 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, false
	}
	return d, true
}
