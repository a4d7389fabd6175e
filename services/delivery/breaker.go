package delivery

import (
	"fmt"
	"sync"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// Defaults of the circuit breaker settings in Config.
const (
	DefaultBreakerFailures    = 5
	DefaultBreakerCoolDown    = 30 * time.Second
	DefaultBreakerMaxCoolDown = 5 * time.Minute
)

// probeTimeout is how long a half-open breaker waits for its probe to
// report before it lets another task probe. It exceeds the longest call
// with its bookkeeping, so it matters only when a probe's outcome was
// lost.
const probeTimeout = 2 * time.Minute

// signal is the evidence an attempt gives the breaker about its destination.
type signal int

const (
	// signalNeutral carries no evidence of the endpoint's health: the
	// attempt did not reach it, was cancelled, or failed in a way that
	// concerns one request (such as a 404 or a disabled Jenkins job).
	signalNeutral signal = iota
	signalSuccess
	signalFailure
)

// breakerSignal maps an attempt's status code and outcome to a signal.
// Only failures that show the endpoint is down or overloaded count:
// timeouts, connection errors, 5xx and 429. Rejected credentials and
// 409 depend on the request or the connection, not on the endpoint's
// health.
func breakerSignal(status int, o retry.Outcome) signal {
	switch {
	case o.Kind == retry.Success:
		return signalSuccess
	case o.Kind != retry.Retry:
		return signalNeutral
	}
	switch o.Code {
	case retry.CodeTimeout, retry.CodeConnectionError, retry.CodeHTTP5xx:
		return signalFailure
	case retry.CodeHTTP4xx:
		if status == 429 {
			return signalFailure
		}
	}
	return signalNeutral
}

// circuitChange is one state change of a destination's breaker.
type circuitChange struct {
	destination string
	from, to    v1.CircuitState
	reason      string
	time        time.Time
}

// breakers holds one circuit breaker per destination, in this process.
// Each replica keeps its own breakers and decides from the attempts it
// makes. A run of failures opens a breaker: tasks for the destination
// then wait without a call. After a cool-down the breaker turns
// half-open and lets one task through as a probe. The probe's success
// closes the breaker, and its failure opens it again with a doubled
// cool-down, up to a maximum.
//
// It is safe for concurrent use.
type breakers struct {
	failures    int
	coolDown    time.Duration
	maxCoolDown time.Duration
	now         func() time.Time

	mu    sync.Mutex
	state map[string]*breaker
}

type breaker struct {
	state v1.CircuitState
	// failures counts the consecutive failures while closed.
	failures int
	// coolDown is the current wait from open to half-open.
	coolDown time.Duration
	// openUntil is when an open breaker turns half-open.
	openUntil time.Time
	// probeStart is when the half-open probe went out; zero when no
	// probe is out.
	probeStart time.Time
}

func newBreakers(failures int, coolDown, maxCoolDown time.Duration, now func() time.Time) *breakers {
	return &breakers{
		failures:    failures,
		coolDown:    coolDown,
		maxCoolDown: max(maxCoolDown, coolDown),
		now:         now,
		state:       map[string]*breaker{},
	}
}

// allow reports whether a task for dest may make a call now. When it
// may not, it returns how long the task should wait. A half-open
// breaker lets one task through, and the caller must report that task's
// signal with record, or release it.
func (b *breakers) allow(dest string) (bool, time.Duration, *circuitChange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.state[dest]
	if br == nil {
		return true, 0, nil
	}
	now := b.now()

	switch br.state {
	case v1.CircuitState_CIRCUIT_STATE_OPEN:
		if now.Before(br.openUntil) {
			return false, br.openUntil.Sub(now), nil
		}
		change := b.moveLocked(dest, br, v1.CircuitState_CIRCUIT_STATE_HALF_OPEN,
			fmt.Sprintf("cool-down of %s over; probing with one call", br.coolDown))
		br.probeStart = now
		return true, 0, change
	case v1.CircuitState_CIRCUIT_STATE_HALF_OPEN:
		if br.probeStart.IsZero() || now.Sub(br.probeStart) >= probeTimeout {
			br.probeStart = now
			return true, 0, nil
		}
		return false, br.coolDown, nil
	}
	return true, 0, nil
}

// record feeds the signal of an attempt to dest's breaker and returns
// the state change it caused, if any.
func (b *breakers) record(dest string, sig signal, reason string) *circuitChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.state[dest]
	if br == nil {
		if sig != signalFailure {
			return nil
		}
		br = &breaker{state: v1.CircuitState_CIRCUIT_STATE_CLOSED, coolDown: b.coolDown}
		b.state[dest] = br
	}

	switch br.state {
	case v1.CircuitState_CIRCUIT_STATE_HALF_OPEN:
		return b.recordProbeLocked(dest, br, sig, reason)
	case v1.CircuitState_CIRCUIT_STATE_CLOSED:
		return b.recordClosedLocked(dest, br, sig, reason)
	}
	// Open: a call that started before the breaker opened changes
	// nothing, because the cool-down already runs.
	return nil
}

func (b *breakers) recordClosedLocked(dest string, br *breaker, sig signal, reason string) *circuitChange {
	switch sig {
	case signalSuccess:
		// A closed breaker without failures is the same as none.
		delete(b.state, dest)
	case signalFailure:
		br.failures++
		if br.failures >= b.failures {
			return b.openLocked(dest, br, fmt.Sprintf("%d consecutive failures, the last: %s",
				br.failures, reason))
		}
	}
	return nil
}

func (b *breakers) recordProbeLocked(dest string, br *breaker, sig signal, reason string) *circuitChange {
	switch sig {
	case signalSuccess:
		change := b.moveLocked(dest, br, v1.CircuitState_CIRCUIT_STATE_CLOSED, "probe call succeeded")
		delete(b.state, dest)
		return change
	case signalFailure:
		br.coolDown = min(br.coolDown*2, b.maxCoolDown)
		return b.openLocked(dest, br, "probe call failed: "+reason)
	}
	// A neutral outcome shows nothing about recovery, so the next task
	// probes.
	br.probeStart = time.Time{}
	return nil
}

// release gives back the probe slot of a task that allow let through
// but that made no call, such as one held back by the rate limit.
func (b *breakers) release(dest string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.state[dest]; br != nil && br.state == v1.CircuitState_CIRCUIT_STATE_HALF_OPEN {
		br.probeStart = time.Time{}
	}
}

func (b *breakers) openLocked(dest string, br *breaker, reason string) *circuitChange {
	br.openUntil = b.now().Add(br.coolDown)
	br.probeStart = time.Time{}
	br.failures = 0
	return b.moveLocked(dest, br, v1.CircuitState_CIRCUIT_STATE_OPEN, reason)
}

func (b *breakers) moveLocked(dest string, br *breaker, to v1.CircuitState, reason string) *circuitChange {
	from := br.state
	br.state = to
	return &circuitChange{destination: dest, from: from, to: to, reason: reason, time: b.now()}
}

// stateOf returns the state of dest's breaker, CLOSED when it has none.
func (b *breakers) stateOf(dest string) v1.CircuitState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.state[dest]; br != nil {
		return br.state
	}
	return v1.CircuitState_CIRCUIT_STATE_CLOSED
}

// notClosed returns the state of each breaker that is open or half-open.
func (b *breakers) notClosed() map[string]v1.CircuitState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]v1.CircuitState{}
	for dest, br := range b.state {
		if br.state != v1.CircuitState_CIRCUIT_STATE_CLOSED {
			out[dest] = br.state
		}
	}
	return out
}

// reset drops dest's breaker, as when the destination was changed or
// deleted, and returns the change to CLOSED when it was not closed.
func (b *breakers) reset(dest, reason string) *circuitChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.state[dest]
	if br == nil {
		return nil
	}
	delete(b.state, dest)
	if br.state == v1.CircuitState_CIRCUIT_STATE_CLOSED {
		return nil
	}
	return b.moveLocked(dest, br, v1.CircuitState_CIRCUIT_STATE_CLOSED, reason)
}
