package main

import (
	"strings"
	"testing"
)

// wantHint fails the test unless r's standard error is the message
// followed by the hint, or by no hint line when hint is "".
func wantHint(t *testing.T, r result, message, hint string) {
	t.Helper()
	want := "error: " + message + "\n"
	if hint != "" {
		want += "hint: " + hint + "\n"
	}
	if r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestFailedPreconditionHintsFitTheCase(t *testing.T) {
	s := startDevStack(t)
	c := s.cli
	createHookConnection(t, c)
	c.run("destination", "create", "hook", "--url", "http://127.0.0.1:9/hook",
		"--connection", "hook-connection").wantCode(t, exitOK)
	c.run("bus", "create", "orders").wantCode(t, exitOK)
	c.run("rule", "create", "r", "--bus", "orders", "--pattern", `{"type":["a"]}`,
		"--target", "hook").wantCode(t, exitOK)

	r := c.run("bus", "delete", "default")
	r.wantCode(t, exitFailure)
	wantHint(t, r, `bus "default" always exists and cannot be deleted`, "")

	r = c.run("bus", "delete", "orders")
	r.wantCode(t, exitFailure)
	wantHint(t, r, `bus "orders" has rules "r"; delete them first`,
		"`switchyard rule delete RULE --bus orders` deletes one of its rules")

	r = c.run("connection", "delete", "hook-connection")
	r.wantCode(t, exitFailure)
	wantHint(t, r, `connection "hook-connection" is used by API destinations "hook"; `+
		"delete them or point them at another connection first",
		"`switchyard destination update NAME --connection OTHER` points an API destination "+
			"at another connection")

	r = c.run("destination", "delete", "hook")
	r.wantCode(t, exitFailure)
	wantHint(t, r, `API destination "hook" is a target of rules "orders/r"; remove those targets first`,
		"`switchyard rule update RULE --bus BUS --target DESTINATION...` "+
			"gives a rule exactly the targets listed")

	r = c.run("destination", "create", "other", "--url", "http://127.0.0.1:9/other",
		"--connection", "nope")
	r.wantCode(t, exitFailure)
	wantHint(t, r, `connection "nope" not found; create it first`,
		"`switchyard connection list` shows the connections")

	r = c.run("rule", "create", "r2", "--bus", "nope", "--pattern", `{"type":["a"]}`,
		"--target", "hook")
	r.wantCode(t, exitFailure)
	wantHint(t, r, `bus "nope" not found; create it first`, missingRuleObjectHint)
}

func TestEventsPutUnknownBusShowsMessage(t *testing.T) {
	s := startDevStack(t)

	r := s.cli.run("events", "put", "--bus", "nope", "--type", "com.example.a", "--source", "/s")
	r.wantCode(t, exitFailure)
	wantHint(t, r, "put event: bus \"nope\" does not exist; create it with "+
		"`switchyard bus create nope` (UnknownBus)",
		"`switchyard bus list` shows the buses that exist")
	if strings.Contains(r.stderr, "http://") || strings.Contains(r.stderr, "failed_entry_count") {
		t.Errorf("stderr = %q, want no URL or response body", r.stderr)
	}
}

func TestMaxAttemptsCountsRetriesAfterFirst(t *testing.T) {
	s, calls := startFailingHook(t)
	c := s.cli
	r := c.run("rule", "create", "to-hook", "--bus", "default", "--pattern", pushPattern,
		"--target", "hook", "--max-attempts", "2", "--backoff-base", "10ms", "--backoff-max", "20ms")
	r.wantCode(t, exitOK)
	if want := "retries:       up to 2 after the first attempt\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("rule create output = %q, want %q", r.stdout, want)
	}
	s.waitRuleLoaded(t, "default", "to-hook")

	r = c.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	id := trimLine(r.stdout)

	// The delivery ends dead-lettered, so waiting for it fails.
	r = c.run("deliveries", "get", id, "--wait", "30s")
	r.wantCode(t, exitFailure)
	if want := "error: 1 of 1 deliveries of event " + id + " did not succeed (dead_lettered)\n"; r.stderr != want {
		t.Errorf("deliveries get --wait stderr = %q, want %q", r.stderr, want)
	}
	if !strings.Contains(r.stdout, "attempt 3:") || strings.Contains(r.stdout, "attempt 4:") {
		t.Errorf("deliveries get output = %q, want exactly 3 attempts", r.stdout)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("endpoint saw %d requests, want 3: the first attempt and 2 retries", got)
	}
}
