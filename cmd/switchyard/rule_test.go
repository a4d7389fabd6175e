package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestRuleCreateFromFile(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("rule", "create", "build-on-push", "--pattern", "@testdata/push-pattern.json",
		"--target", "build", "--target", "notify", "--path-value", "$.data.repository.name",
		"--target-header", "X-Event=$.id", "--target-query", "delay=0sec",
		"--input-path", "$.data", "--content-type", "text/plain",
		"--max-attempts", "3", "--max-age", "1h", "--dead-letter", "off", "--disabled")
	r.wantCode(t, exitOK)

	rule := last[*v1.CreateRuleRequest](t, f).GetRule()
	if rule.GetBus() != "default" || rule.GetName() != "build-on-push" {
		t.Errorf("bus, name = %q, %q; want default, build-on-push", rule.GetBus(), rule.GetName())
	}
	wantPattern := `{"type":["com.github.push"],"data":{"ref":["refs/heads/main"]}}`
	if got := rule.GetEventPattern(); got != wantPattern {
		t.Errorf("pattern = %s, want %s", got, wantPattern)
	}
	if rule.GetState() != v1.RuleState_RULE_STATE_DISABLED {
		t.Errorf("state = %v, want disabled", rule.GetState())
	}
	if len(rule.GetTargets()) != 2 {
		t.Fatalf("targets = %v, want 2", rule.GetTargets())
	}
	for i, id := range []string{"build", "notify"} {
		checkTarget(t, rule.GetTargets()[i], id)
	}
	if !strings.Contains(r.stdout, "path $.data") || !strings.Contains(r.stdout, "disabled") {
		t.Errorf("stdout = %q, want the input path and state", r.stdout)
	}
}

// checkTarget checks that target id got every target flag of
// TestRuleCreateFromFile.
func checkTarget(t *testing.T, target *v1.Target, id string) {
	t.Helper()
	if target.GetId() != id || target.GetApiDestination() != id {
		t.Errorf("target id, destination = %q, %q; want %q", target.GetId(), target.GetApiDestination(), id)
	}
	if got := target.GetPathValues(); len(got) != 1 || got[0] != "$.data.repository.name" {
		t.Errorf("target %s path values = %q", id, got)
	}
	if got := target.GetHeaders()["X-Event"]; got != "$.id" {
		t.Errorf("target %s header X-Event = %q, want $.id", id, got)
	}
	if got := target.GetQuery()["delay"]; got != "0sec" {
		t.Errorf("target %s query delay = %q, want 0sec", id, got)
	}
	if got := target.GetInput().GetPath(); got != "$.data" {
		t.Errorf("target %s input path = %q, want $.data", id, got)
	}
	if got := target.GetContentType(); got != "text/plain" {
		t.Errorf("target %s content type = %q", id, got)
	}
	p := target.GetRetryPolicy()
	if p.GetMaxAttempts() != 3 || p.GetMaxEventAge().AsDuration() != time.Hour {
		t.Errorf("target %s retry policy = %v, want 3 attempts and 1h", id, p)
	}
	if target.DeadLetter == nil || target.GetDeadLetter() {
		t.Errorf("target %s dead letter = %v, want false", id, target.DeadLetter)
	}
}

func TestRuleCreateInvalid(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notJSON, []byte(`{"type": [`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no pattern", []string{"--target", "d"}, "needs --pattern and at least one --target"},
		{"no target", []string{"--pattern", `{"a":["b"]}`}, "needs --pattern"},
		{"pattern not JSON", []string{"--pattern", "@" + notJSON, "--target", "d"},
			"invalid --pattern (file " + notJSON + "): not valid JSON"},
		{"missing file", []string{"--pattern", "@" + filepath.Join(dir, "none.json"), "--target", "d"},
			"no such file"},
		{"invalid pattern", []string{"--pattern", `{"a":"b"}`, "--target", "d"}, "invalid --pattern: a:"},
		{"six targets", []string{"--pattern", `{"a":["b"]}`, "--target", "1", "--target", "2",
			"--target", "3", "--target", "4", "--target", "5", "--target", "6"}, "at most 5 targets"},
		{"target twice", []string{"--pattern", `{"a":["b"]}`, "--target", "d", "--target", "d"},
			"d is given twice"},
		{"bad header", []string{"--pattern", `{"a":["b"]}`, "--target", "d", "--target-header", "X"},
			`invalid --target-header "X"`},
		{"bad dead letter", []string{"--pattern", `{"a":["b"]}`, "--target", "d", "--dead-letter", "yes"},
			"want on or off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)

			r := c.run(append([]string{"rule", "create", "r"}, tt.args...)...)
			r.wantCode(t, exitUsage)

			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("requests = %d, want 0", n)
			}
		})
	}
}

func storedRule() *v1.Rule {
	return &v1.Rule{
		Bus: "ci", Name: "build", EventPattern: `{"source":["git"]}`, Revision: 9,
		State: v1.RuleState_RULE_STATE_DISABLED,
		Targets: []*v1.Target{
			{Id: "a", ApiDestination: "a", PathValues: []string{"keep"}},
			{Id: "b", ApiDestination: "b"},
		},
	}
}

func TestRuleUpdateOptionsApplyToEveryTarget(t *testing.T) {
	f := &fakeConfig{rule: storedRule()}
	c := newCLI(t, f)

	r := c.run("rule", "update", "build", "--bus", "ci", "--max-attempts", "0", "--enabled")
	r.wantCode(t, exitOK)

	rule := last[*v1.UpdateRuleRequest](t, f).GetRule()
	if rule.GetRevision() != 9 || rule.GetEventPattern() != `{"source":["git"]}` {
		t.Errorf("rule = %v, want revision and pattern kept", rule)
	}
	if rule.GetState() != v1.RuleState_RULE_STATE_ENABLED {
		t.Errorf("state = %v, want enabled", rule.GetState())
	}
	for _, target := range rule.GetTargets() {
		p := target.GetRetryPolicy()
		if p == nil || p.MaxAttempts == nil || p.GetMaxAttempts() != 0 {
			t.Errorf("target %s retry policy = %v, want max attempts 0", target.GetId(), p)
		}
	}
	if got := rule.GetTargets()[0].GetPathValues(); len(got) != 1 || got[0] != "keep" {
		t.Errorf("target a path values = %q, want kept", got)
	}
}

func TestRuleUpdateTargetsKeepExistingSettings(t *testing.T) {
	f := &fakeConfig{rule: storedRule()}
	c := newCLI(t, f)

	r := c.run("rule", "update", "build", "--bus", "ci", "--target", "c", "--target", "a")
	r.wantCode(t, exitOK)

	targets := last[*v1.UpdateRuleRequest](t, f).GetRule().GetTargets()
	if got := targetIDs(targets); got != "c,a" {
		t.Fatalf("targets = %s, want c,a", got)
	}
	if got := targets[1].GetPathValues(); len(got) != 1 || got[0] != "keep" {
		t.Errorf("target a path values = %q, want kept", got)
	}
	if got := targets[0].GetApiDestination(); got != "c" {
		t.Errorf("target c destination = %q, want c", got)
	}
}

func TestRuleUpdateNeedsAChange(t *testing.T) {
	f := &fakeConfig{rule: storedRule()}
	c := newCLI(t, f)

	r := c.run("rule", "update", "build", "--bus", "ci")
	r.wantCode(t, exitUsage)

	r = c.run("rule", "update", "build", "--bus", "ci", "--enabled", "--disabled")
	r.wantCode(t, exitUsage)
}

func TestRuleGetDefaultBus(t *testing.T) {
	f := &fakeConfig{rule: storedRule()}
	c := newCLI(t, f)

	r := c.run("rule", "get", "build")
	r.wantCode(t, exitFailure)
	if got := last[*v1.GetRuleRequest](t, f).GetBus(); got != "default" {
		t.Errorf("bus = %q, want default", got)
	}

	r = c.run("rule", "get", "build", "--bus", "ci")
	r.wantCode(t, exitOK)
	for _, want := range []string{`{"source":["git"]}`, "target:", "whole event (default)",
		"up to 185 after the first attempt (default)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
}

func TestRuleListBusFilter(t *testing.T) {
	f := &fakeConfig{rule: storedRule()}
	c := newCLI(t, f)

	r := c.run("rule", "list")
	r.wantCode(t, exitOK)
	if got := last[*v1.ListRulesRequest](t, f).GetBus(); got != "" {
		t.Errorf("bus = %q, want empty for every bus", got)
	}
	if !strings.Contains(r.stdout, "a,b") {
		t.Errorf("stdout = %q, want the target ids", r.stdout)
	}

	c.run("rule", "list", "--bus", "ci").wantCode(t, exitOK)
	if got := last[*v1.ListRulesRequest](t, f).GetBus(); got != "ci" {
		t.Errorf("bus = %q, want ci", got)
	}
}

func TestRuleDelete(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("rule", "delete", "build")
	r.wantCode(t, exitOK)

	req := last[*v1.DeleteRuleRequest](t, f)
	if req.GetBus() != "default" || req.GetName() != "build" {
		t.Errorf("request = %v, want default/build", req)
	}
	if got, want := r.stdout, "deleted rule default/build\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestRuleTextShowsRetriesAfterFirst(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"two", []string{"--max-attempts", "2"}, "retries:       up to 2 after the first attempt\n"},
		{"zero", []string{"--max-attempts", "0"}, "retries:       none, only the first attempt\n"},
		{"default", nil, "retries:       up to 185 after the first attempt (default)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t, &fakeConfig{})
			args := append([]string{"rule", "create", "r", "--pattern", `{"type":["a"]}`,
				"--target", "hook"}, tt.args...)
			r := c.run(args...)
			r.wantCode(t, exitOK)

			if !strings.Contains(r.stdout, tt.want) {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.want)
			}
			if strings.Contains(r.stdout, "max attempts") {
				t.Errorf("stdout = %q, want no \"max attempts\" line", r.stdout)
			}
		})
	}

	help := newCLI(t, &fakeConfig{}).run("rule", "create", "--help")
	help.wantCode(t, exitOK)
	if !strings.Contains(help.stdout, "retries after the first attempt, 0 to 185, so 2 allows 3 attempts") {
		t.Errorf("rule create --help does not explain --max-attempts:\n%s", help.stdout)
	}
}

func TestRuleTextShowsFormContentType(t *testing.T) {
	c := newCLI(t, &fakeConfig{})

	r := c.run("rule", "create", "r-form", "--pattern", `{"type":["a"]}`, "--target", "hook",
		"--form-field", "BRANCH=$.data.ref", "--form-json-field", `json={"ref":"<ref>"}`,
		"--template-var", "ref=$.data.ref")
	r.wantCode(t, exitOK)
	want := "content type:  application/x-www-form-urlencoded (default)\n"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}

	r = c.run("rule", "create", "r-json", "--pattern", `{"type":["a"]}`, "--target", "hook")
	r.wantCode(t, exitOK)
	if want := "content type:  application/json (default)\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
}

func TestRuleCreateChecksRenderingLocally(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"template not JSON", []string{"--input-template", `{"x": <v}`, "--template-var", "v=$.data.x"},
			"error: invalid --input-template: not valid JSON when the variables are strings"},
		{"unknown variable", []string{"--input-template", `{"x": "<w>"}`},
			"error: invalid --input-template: unknown variable <w>"},
		{"header path", []string{"--target-header", "X-A=$.a["},
			`error: invalid --target-header "X-A": invalid JSON path "$.a["`},
		{"path value", []string{"--path-value", "$.a["},
			`error: invalid --path-value (number 1): invalid JSON path "$.a["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)
			args := append([]string{"rule", "create", "r", "--pattern", `{"type":["a"]}`,
				"--target", "hook"}, tt.args...)
			r := c.run(args...)
			r.wantCode(t, exitUsage)

			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to start with %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "the input template:") {
				t.Errorf("stderr = %q, want the input template named once, as the flag", r.stderr)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("requests = %d, want 0", n)
			}
		})
	}
}
