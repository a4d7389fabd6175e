package main

import (
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestRuleCreateInputTemplate(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	r := c.run("rule", "create", "tmpl", "--pattern", `{"type":["t"]}`, "--target", "d",
		"--input-template", `{"branch": "<ref>"}`, "--template-var", "ref=$.data.ref")
	r.wantCode(t, exitOK)

	tmpl := last[*v1.CreateRuleRequest](t, f).GetRule().GetTargets()[0].GetInput().GetTemplate()
	if got := tmpl.GetTemplate(); got != `{"branch": "<ref>"}` {
		t.Errorf("template = %q, want the flag's text", got)
	}
	if got := tmpl.GetPaths()["ref"]; got != "$.data.ref" {
		t.Errorf("template variable ref = %q, want $.data.ref", got)
	}
}

func TestRuleCreateFormJSONField(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	r := c.run("rule", "create", "build", "--pattern", `{"type":["t"]}`, "--target", "d",
		"--form-field", "delay=0sec",
		"--form-json-field", `json={"parameter":[{"name":"BRANCH","value":"<ref>"}]}`,
		"--template-var", "ref=$.data.ref")
	r.wantCode(t, exitOK)

	form := last[*v1.CreateRuleRequest](t, f).GetRule().GetTargets()[0].GetInput().GetForm()
	if got := form.GetFields()["delay"]; got != "0sec" {
		t.Errorf("form field delay = %q, want 0sec", got)
	}
	json := form.GetJsonFields()["json"]
	if !strings.Contains(json.GetTemplate(), "<ref>") || json.GetPaths()["ref"] != "$.data.ref" {
		t.Errorf("form json field = %v, want the template with variable ref", json)
	}
}

func TestRuleCreateInputKindsExclusive(t *testing.T) {
	c := newCLI(t, &fakeConfig{})
	r := c.run("rule", "create", "x", "--pattern", `{"type":["t"]}`, "--target", "d",
		"--input-path", "$.data", "--input-template", "x")
	r.wantCode(t, exitUsage)
	if !strings.Contains(r.stderr, "a body has one source") {
		t.Errorf("stderr = %q, want the one-source error", r.stderr)
	}

	r = c.run("rule", "create", "x", "--pattern", `{"type":["t"]}`, "--target", "d",
		"--template-var", "a=$.a")
	r.wantCode(t, exitUsage)
}
