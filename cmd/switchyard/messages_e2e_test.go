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
