package delivery

import (
	"testing"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

const (
	closed   = v1.CircuitState_CIRCUIT_STATE_CLOSED
	open     = v1.CircuitState_CIRCUIT_STATE_OPEN
	halfOpen = v1.CircuitState_CIRCUIT_STATE_HALF_OPEN
)

// breakerStep is one step of a breaker table test: move the fake clock
// by advance, then call allow when allow is set, or record sig.
type breakerStep struct {
	advance time.Duration
	allow   bool
	sig     signal
	// wantAllowed and wantWait check an allow step.
	wantAllowed bool
	wantWait    time.Duration
	// wantChange is the state a step moves to; zero means no change.
	wantChange v1.CircuitState
	wantState  v1.CircuitState
}

func allowStep(advance time.Duration, allowed bool, wait time.Duration,
	change, state v1.CircuitState) breakerStep {
	return breakerStep{advance: advance, allow: true, wantAllowed: allowed, wantWait: wait,
		wantChange: change, wantState: state}
}

func recordStep(sig signal, change, state v1.CircuitState) breakerStep {
	return breakerStep{sig: sig, wantChange: change, wantState: state}
}

func failures(n int) []breakerStep {
	var steps []breakerStep
	for range n {
		steps = append(steps, recordStep(signalFailure, 0, closed))
	}
	return steps
}

func TestBreakerStateMachine(t *testing.T) {
	const coolDown = 10 * time.Second
	openAfterThree := append(failures(2), recordStep(signalFailure, open, open))

	tests := []struct {
		name  string
		steps []breakerStep
	}{
		{"closed allows", []breakerStep{allowStep(0, true, 0, 0, closed)}},
		{"below threshold stays closed", append(failures(2), allowStep(0, true, 0, 0, closed))},
		{"success resets the run", concat(failures(2),
			[]breakerStep{recordStep(signalSuccess, 0, closed)},
			failures(2),
			[]breakerStep{allowStep(0, true, 0, 0, closed)})},
		{"neutral keeps the run", concat(failures(2),
			[]breakerStep{recordStep(signalNeutral, 0, closed)},
			[]breakerStep{recordStep(signalFailure, open, open)})},
		{"threshold opens", concat(openAfterThree,
			[]breakerStep{allowStep(time.Second, false, 9*time.Second, 0, open)})},
		{"cool-down turns half-open", concat(openAfterThree, []breakerStep{
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
			allowStep(0, false, coolDown, 0, halfOpen),
		})},
		{"probe success closes", concat(openAfterThree, []breakerStep{
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
			recordStep(signalSuccess, closed, closed),
			allowStep(0, true, 0, 0, closed),
		})},
		{"probe failure reopens with doubled cool-down", concat(openAfterThree, []breakerStep{
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
			recordStep(signalFailure, open, open),
			allowStep(coolDown, false, coolDown, 0, open),
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
			recordStep(signalFailure, open, open),
			// 40 s would pass the 30 s maximum.
			allowStep(29*time.Second, false, time.Second, 0, open),
		})},
		{"neutral probe lets the next task probe", concat(openAfterThree, []breakerStep{
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
			recordStep(signalNeutral, 0, halfOpen),
			allowStep(0, true, 0, 0, halfOpen),
			allowStep(0, false, coolDown, 0, halfOpen),
		})},
		{"lost probe times out", concat(openAfterThree, []breakerStep{
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
			allowStep(probeTimeout, true, 0, 0, halfOpen),
		})},
		{"late failure while open changes nothing", concat(openAfterThree, []breakerStep{
			recordStep(signalFailure, 0, open),
			allowStep(coolDown, true, 0, halfOpen, halfOpen),
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			b := newBreakers(3, coolDown, 30*time.Second, func() time.Time { return now })
			for i, step := range tt.steps {
				now = now.Add(step.advance)
				var change *circuitChange
				if step.allow {
					var allowed bool
					var wait time.Duration
					allowed, wait, change = b.allow("d")
					if allowed != step.wantAllowed || wait != step.wantWait {
						t.Fatalf("step %d: allow() = %v, %v, want %v, %v",
							i, allowed, wait, step.wantAllowed, step.wantWait)
					}
				} else {
					change = b.record("d", step.sig, "HTTP 503")
				}
				checkChange(t, i, change, step.wantChange)
				if got := b.stateOf("d"); got != step.wantState {
					t.Fatalf("step %d: state = %v, want %v", i, got, step.wantState)
				}
			}
		})
	}
}

func checkChange(t *testing.T, step int, change *circuitChange, want v1.CircuitState) {
	t.Helper()
	switch {
	case want == 0 && change != nil:
		t.Fatalf("step %d: change to %v, want none", step, change.to)
	case want != 0 && change == nil:
		t.Fatalf("step %d: no change, want one to %v", step, want)
	case want != 0 && change.to != want:
		t.Fatalf("step %d: change to %v, want %v", step, change.to, want)
	case change != nil && (change.destination != "d" || change.reason == "" || change.from == change.to):
		t.Fatalf("step %d: change = %+v, want destination d, a reason and a new state",
			step, change)
	}
}

func concat(parts ...[]breakerStep) []breakerStep {
	var out []breakerStep
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestBreakerDestinationsIndependent(t *testing.T) {
	b := newBreakers(1, time.Minute, time.Minute, time.Now)
	b.record("down", signalFailure, "HTTP 503")
	if ok, _, _ := b.allow("down"); ok {
		t.Error(`allow("down") = true after its breaker opened, want false`)
	}
	if ok, _, _ := b.allow("up"); !ok {
		t.Error(`allow("up") = false, want true: another destination's breaker opened`)
	}
}

func TestBreakerRelease(t *testing.T) {
	now := time.Now()
	b := newBreakers(1, time.Second, time.Second, func() time.Time { return now })
	b.record("d", signalFailure, "HTTP 503")
	now = now.Add(time.Second)
	if ok, _, _ := b.allow("d"); !ok {
		t.Fatal("allow() after cool-down = false, want a probe")
	}
	b.release("d")
	if ok, _, _ := b.allow("d"); !ok {
		t.Error("allow() after release = false, want the probe slot back")
	}
}

func TestBreakerSignal(t *testing.T) {
	tests := []struct {
		name   string
		status int
		kind   retry.Kind
		code   string
		want   signal
	}{
		{"success", 200, retry.Success, "", signalSuccess},
		{"timeout", 0, retry.Retry, retry.CodeTimeout, signalFailure},
		{"connection error", 0, retry.Retry, retry.CodeConnectionError, signalFailure},
		{"503", 503, retry.Retry, retry.CodeHTTP5xx, signalFailure},
		{"429", 429, retry.Retry, retry.CodeHTTP4xx, signalFailure},
		{"409", 409, retry.Retry, retry.CodeHTTP4xx, signalNeutral},
		{"401", 401, retry.Retry, retry.CodeAuthFailed, signalNeutral},
		{"404", 404, retry.Fail, retry.CodeHTTP4xx, signalNeutral},
		{"network refused", 0, retry.Fail, retry.CodeNetworkRefused, signalNeutral},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := breakerSignal(tt.status, retry.Outcome{Kind: tt.kind, Code: tt.code})
			if got != tt.want {
				t.Errorf("breakerSignal(%d, %v %s) = %v, want %v",
					tt.status, tt.kind, tt.code, got, tt.want)
			}
		})
	}
}
