package main

import (
	"strings"
	"testing"
	"time"
)

func TestCircuitShownByDestinationGet(t *testing.T) {
	s, calls := startFailingHook(t)
	c := s.cli
	c.run("rule", "create", "to-hook", "--bus", "default", "--pattern", pushPattern,
		"--target", "hook", "--backoff-base", "10ms", "--backoff-max", "20ms").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "to-hook")

	c.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json").
		wantCode(t, exitOK)

	// Five failures 10 to 20 ms apart open the circuit, which then holds
	// the delivery back for its 30 s cool-down.
	waitFor(t, 30*time.Second, func() (bool, string) {
		r := c.run("destination", "get", "hook")
		return strings.Contains(r.stdout, "OPEN"), r.stdout
	})
	r := c.run("destination", "get", "hook")
	if !strings.Contains(r.stdout, "5 consecutive failures, the last: HTTP 503") {
		t.Errorf("destination get = %q, want the reason the circuit opened", r.stdout)
	}
	if got := calls.Load(); got != 5 {
		t.Errorf("endpoint saw %d requests, want 5 before the circuit opened", got)
	}
}
