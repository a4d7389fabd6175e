package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestRuleCreateBackoffFlags(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("rule", "create", "build", "--pattern", `{"source":["git"]}`, "--target", "jenkins",
		"--backoff-base", "2s", "--backoff-max", "1m")
	r.wantCode(t, exitOK)

	p := last[*v1.CreateRuleRequest](t, f).GetRule().GetTargets()[0].GetRetryPolicy()
	if got := p.GetBackoffBase().AsDuration(); got != 2*time.Second {
		t.Errorf("backoff base = %s, want 2s", got)
	}
	if got := p.GetBackoffMax().AsDuration(); got != time.Minute {
		t.Errorf("backoff max = %s, want 1m", got)
	}
	if p.MaxAttempts != nil || p.GetMaxEventAge() != nil {
		t.Errorf("retry policy = %v, want max attempts and age unset", p)
	}
	for _, want := range []string{"backoff base", "2s", "backoff max", "1m0s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
}

func TestRuleUpdateBackoffKeepsOtherSettings(t *testing.T) {
	f := &fakeConfig{rule: storedRule()}
	c := newCLI(t, f)

	r := c.run("rule", "update", "build", "--bus", "ci", "--backoff-max", "30s")
	r.wantCode(t, exitOK)

	for _, target := range last[*v1.UpdateRuleRequest](t, f).GetRule().GetTargets() {
		p := target.GetRetryPolicy()
		if got := p.GetBackoffMax().AsDuration(); got != 30*time.Second {
			t.Errorf("target %s backoff max = %s, want 30s", target.GetId(), got)
		}
		if p.GetBackoffBase() != nil {
			t.Errorf("target %s backoff base = %v, want unset", target.GetId(), p.GetBackoffBase())
		}
	}
}

func TestRuleBackoffFlagInvalid(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("rule", "create", "build", "--pattern", `{"source":["git"]}`, "--target", "jenkins",
		"--backoff-base", "-1s")
	r.wantCode(t, exitUsage)
	if !strings.Contains(r.stderr, "invalid --backoff-base") {
		t.Errorf("stderr = %q, want the invalid flag named", r.stderr)
	}
	if n := f.requestCount(); n != 0 {
		t.Errorf("config got %d requests, want 0", n)
	}
}

func TestDestinationGetShowsCircuit(t *testing.T) {
	changed := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	f := &fakeConfig{destination: &v1.ApiDestination{
		Name: "build", Url: "http://127.0.0.1:8080/job/x/build", Method: "POST", Connection: "c",
		CircuitState:      v1.CircuitState_CIRCUIT_STATE_HALF_OPEN,
		CircuitReason:     "cool-down of 30s over; probing with one call",
		CircuitChangeTime: timestamppb.New(changed),
	}}
	c := newCLI(t, f)

	r := c.run("destination", "get", "build")
	r.wantCode(t, exitOK)
	for _, want := range []string{
		"HALF_OPEN", "cool-down of 30s over; probing with one call", "2026-05-06T07:08:09Z",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
}
