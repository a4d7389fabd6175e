package config

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// TestTargetTransformValidation checks that rule writes reject targets
// that the rule engine could not render, with the field in the message.
func TestTargetTransformValidation(t *testing.T) {
	h := startService(t)
	h.seed(t)

	template := func(contentType, text string, paths map[string]string) *v1.Target {
		return &v1.Target{
			ApiDestination: "dest",
			PathValues:     []string{"$.data.job"},
			ContentType:    contentType,
			Input: &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{
				Paths: paths, Template: text,
			}}},
		}
	}
	branch := map[string]string{"branch": "$.data.ref"}
	tests := []struct {
		name   string
		target *v1.Target
		want   []string // parts of the message; none means accepted
	}{
		{
			name:   "JSON template",
			target: template("", `{"branch": "<branch>", "rule": <switchyard.rule>}`, branch),
		},
		{
			name:   "form template",
			target: template("application/x-www-form-urlencoded", "BRANCH=<branch>", branch),
		},
		{
			name:   "unknown variable",
			target: template("", `{"branch": "<branch>"}`, nil),
			want:   []string{"rule.targets[0].input.template: the input template: unknown variable <branch>"},
		},
		{
			name:   "template that is not JSON",
			target: template("", `BRANCH=<branch>`, branch),
			want:   []string{"rule.targets[0].input.template: the input template: not valid JSON", "text/plain"},
		},
		{
			name:   "unquoted key",
			target: template("", `{<branch>: 1}`, branch),
			want:   []string{"rule.targets[0].input.template: the input template: not valid JSON", "numbers"},
		},
		{
			name:   "invalid variable path",
			target: template("", `{"b": <branch>}`, map[string]string{"branch": "$.data..ref"}),
			want:   []string{`rule.targets[0].input.template.paths["branch"]: the input template: invalid JSON path`},
		},
		{
			name: "invalid query path",
			target: &v1.Target{ApiDestination: "dest", PathValues: []string{"$.data.job"},
				Query: map[string]string{"BRANCH": "$.data.ref[*]"}},
			want: []string{`rule.targets[0].query["BRANCH"]: the target query parameter "BRANCH": invalid JSON path`},
		},
		{
			name: "long header value",
			target: &v1.Target{ApiDestination: "dest", PathValues: []string{"$.data.job"},
				Headers: map[string]string{"X-Long": strings.Repeat("x", 513)}},
			want: []string{`rule.targets[0].headers["X-Long"]: the target header "X-Long": over the limit`, "512"},
		},
		{
			name: "constant body that is not JSON",
			target: &v1.Target{ApiDestination: "dest", PathValues: []string{"$.data.job"},
				Input: &v1.Input{Kind: &v1.Input_Constant{Constant: "go"}}},
			want: []string{"rule.targets[0].input.constant: the constant body: not valid JSON"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			r := rule("default", "transform-"+itoa(int64(i)), tt.target)
			_, err := h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: r})
			if tt.want == nil {
				mustOK(t, err)
				return
			}
			wantCode(t, err, codes.InvalidArgument, tt.want...)
		})
	}
}

// TestTargetTransformValidationOnUpdate checks that an update is held to
// the same rules as a create.
func TestTargetTransformValidationOnUpdate(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)

	r, err := h.api.GetRule(ctx, &v1.GetRuleRequest{Bus: "default", Name: "build"})
	mustOK(t, err)
	r.Targets[0].Input = &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{
		Template: `{"commit": "<commit>"}`,
	}}}
	_, err = h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: r})
	wantCode(t, err, codes.InvalidArgument,
		"rule.targets[0].input.template: the input template: unknown variable <commit>")

	r.Targets[0].Input.GetTemplate().Paths = map[string]string{"commit": "$.data.after"}
	_, err = h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: r})
	mustOK(t, err)
}
