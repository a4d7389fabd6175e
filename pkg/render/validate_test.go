package render

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestValidateTargetAccepts(t *testing.T) {
	manyPaths := map[string]string{}
	for i := range MaxVariables {
		manyPaths[fmt.Sprintf("v%d", i)] = "$.data.v"
	}
	tests := []struct {
		name   string
		target *v1.Target
	}{
		{"empty", &v1.Target{}},
		{"values", &v1.Target{
			PathValues: []string{"job", "$.data.repository.name", "$['a'][0]"},
			Headers:    map[string]string{"X-Ref": "$.data.ref", "X-C": "c"},
			Query:      map[string]string{"token": strings.Repeat("t", MaxValueLength)},
		}},
		{"JSON template", &v1.Target{Input: templateInput(
			map[string]string{"branch": "$.data.ref", "all": "$"},
			`{"branch": "<branch>", "event": <all>, "rule": "<switchyard.rule>"}`)}},
		{"JSON template of +json type", &v1.Target{
			ContentType: "application/vnd.api+json; charset=utf-8",
			Input:       templateInput(nil, `{"id": <switchyard.event-id>}`),
		}},
		{"text template with XML", &v1.Target{
			ContentType: "application/xml",
			Input: templateInput(map[string]string{"b": "$.data.ref"},
				`<?xml version="1.0"?>\<build><b></build>`),
		}},
		{"template not JSON as text", &v1.Target{
			ContentType: "text/plain",
			Input:       templateInput(map[string]string{"b": "$.data.ref"}, `{"b": <b>`),
		}},
		{"100 variables", &v1.Target{Input: templateInput(manyPaths, `{}`)}},
		{"template at limit", &v1.Target{
			ContentType: "text/plain",
			Input:       templateInput(nil, strings.Repeat("x", MaxTemplateSize)),
		}},
		{"JSON constant", &v1.Target{Input: &v1.Input{Kind: &v1.Input_Constant{
			Constant: `{"parameter": []}`,
		}}}},
		{"text constant", &v1.Target{
			ContentType: "text/plain",
			Input:       &v1.Input{Kind: &v1.Input_Constant{Constant: `not "JSON"`}},
		}},
		{"form", &v1.Target{Input: formInput(map[string]string{
			"BRANCH": "$.data.ref",
			"json":   `{"parameter": [{"name": "X", "value": "1"}]}`,
		})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateTarget(tt.target); err != nil {
				t.Errorf("ValidateTarget = %v, want nil", err)
			}
		})
	}
}

func TestValidateTargetRejects(t *testing.T) {
	tooManyPaths := map[string]string{}
	tooManyFields := map[string]string{}
	for i := range MaxVariables + 1 {
		tooManyPaths[fmt.Sprintf("v%d", i)] = "$.data.v"
		tooManyFields[fmt.Sprintf("F%d", i)] = "x"
	}
	longPath := "$.data." + strings.Repeat("a", MaxValueLength)
	tests := []struct {
		name      string
		target    *v1.Target
		want      error
		wantField string
		// wantLabel starts the message when it differs from wantField.
		wantLabel string
		wantText  string
	}{
		{
			name:      "invalid path value",
			target:    &v1.Target{PathValues: []string{"job", "$.data..name"}},
			want:      ErrInvalidPath,
			wantField: "path_values[1]",
			wantLabel: "path value 2 ($.data..name): ",
			wantText:  "recursive descent",
		},
		{
			name:      "dot segment constant path value",
			target:    &v1.Target{PathValues: []string{"job", ".."}},
			want:      ErrInvalidPathValue,
			wantField: "path_values[1]",
			wantLabel: `path value 2 (constant "..") is `,
			wantText:  "dot segment",
		},
		{
			name:      "wildcard in header",
			target:    &v1.Target{Headers: map[string]string{"X-Ref": "$.data.*"}},
			want:      ErrInvalidPath,
			wantField: `headers["X-Ref"]`,
			wantText:  "wildcards",
		},
		{
			name:      "filter in query",
			target:    &v1.Target{Query: map[string]string{"q": "$.a[?(@.b)]"}},
			want:      ErrInvalidPath,
			wantField: `query["q"]`,
			wantText:  "not supported",
		},
		{
			name:      "negative index",
			target:    &v1.Target{Query: map[string]string{"q": "$.a[-1]"}},
			want:      ErrInvalidPath,
			wantField: `query["q"]`,
		},
		{
			name:      "unclosed quote",
			target:    &v1.Target{Query: map[string]string{"q": "$['a]"}},
			want:      ErrInvalidPath,
			wantField: `query["q"]`,
		},
		{
			name:      "long header constant",
			target:    &v1.Target{Headers: map[string]string{"X": strings.Repeat("é", MaxValueLength+1)}},
			want:      ErrTooLarge,
			wantField: `headers["X"]`,
			wantText:  "513 characters",
		},
		{
			name:      "long query path",
			target:    &v1.Target{Query: map[string]string{"q": longPath}},
			want:      ErrTooLarge,
			wantField: `query["q"]`,
		},
		{
			name:      "header constant with newline",
			target:    &v1.Target{Headers: map[string]string{"X": "a\r\nX-Evil: 1"}},
			want:      ErrInvalidHeaderValue,
			wantField: `headers["X"]`,
		},
		{
			name:      "invalid input path",
			target:    &v1.Target{Input: pathInput("data.ref")},
			want:      ErrInvalidPath,
			wantField: "input.path",
			wantText:  "must start with $",
		},
		{
			name:      "constant not JSON",
			target:    &v1.Target{Input: &v1.Input{Kind: &v1.Input_Constant{Constant: "hello"}}},
			want:      ErrInvalidJSON,
			wantField: "input.constant",
			wantText:  "set a content type that is not JSON",
		},
		{
			name: "constant too large",
			target: &v1.Target{ContentType: "text/plain", Input: &v1.Input{
				Kind: &v1.Input_Constant{Constant: strings.Repeat("x", MaxTemplateSize+1)},
			}},
			want:      ErrTooLarge,
			wantField: "input.constant",
		},
		{
			name:      "unknown variable",
			target:    &v1.Target{Input: templateInput(nil, `{"b": "<branch>"}`)},
			want:      ErrUnknownVariable,
			wantField: "input.template",
			wantText:  "unknown variable <branch>",
		},
		{
			name: "variable in another syntax",
			target: &v1.Target{Input: templateInput(map[string]string{"ref": "$.data.ref"},
				`{"b": "{{ref}}"}`)},
			want:      ErrUnknownVariable,
			wantField: "input.template",
			wantText:  `writes {{ref}}, which is sent unchanged; write the variable "ref" as <ref>`,
		},
		{
			name:      "unknown built-in",
			target:    &v1.Target{Input: templateInput(nil, `{"b": <switchyard.time>}`)},
			want:      ErrUnknownVariable,
			wantField: "input.template",
		},
		{
			name: "unknown variable in text",
			target: &v1.Target{ContentType: "application/xml",
				Input: templateInput(nil, `<build/><branch>`)},
			want:      ErrUnknownVariable,
			wantField: "input.template",
			wantText:  `\<branch>`,
		},
		{
			name:      "template not JSON",
			target:    &v1.Target{Input: templateInput(nil, `branch=<switchyard.rule>`)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
		},
		{
			name: "unquoted key",
			target: &v1.Target{Input: templateInput(map[string]string{"k": "$.k"},
				`{<k>: 1}`)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
			wantText:  "when the variables are numbers",
		},
		{
			name: "placeholder glued to a number",
			target: &v1.Target{Input: templateInput(map[string]string{"n": "$.n"},
				`{"n": <n>0}`)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
		},
		{
			name: "two values side by side",
			target: &v1.Target{Input: templateInput(map[string]string{"a": "$.a"},
				`[<a> <a>]`)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
		},
		{
			name: "escaped placeholder in JSON",
			target: &v1.Target{Input: templateInput(map[string]string{"a": "$.a"},
				`{"a": \<a>}`)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
		},
		{
			name:      "empty JSON template",
			target:    &v1.Target{Input: templateInput(nil, ``)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
		},
		{
			name: "template too large",
			target: &v1.Target{ContentType: "text/plain",
				Input: templateInput(nil, strings.Repeat("x", MaxTemplateSize+1))},
			want:      ErrTooLarge,
			wantField: "input.template",
		},
		{
			name:      "too many variables",
			target:    &v1.Target{Input: templateInput(tooManyPaths, `{}`)},
			want:      ErrTooLarge,
			wantField: "input.template.paths",
		},
		{
			name: "invalid variable name",
			target: &v1.Target{Input: templateInput(map[string]string{"a b": "$.a"},
				`{}`)},
			want:      ErrInvalidVariable,
			wantField: `input.template.paths["a b"]`,
		},
		{
			name: "reserved variable name",
			target: &v1.Target{Input: templateInput(
				map[string]string{"switchyard.rule": "$.a"}, `{}`)},
			want:      ErrInvalidVariable,
			wantField: `input.template.paths["switchyard.rule"]`,
		},
		{
			name: "invalid variable path",
			target: &v1.Target{Input: templateInput(map[string]string{"b": "$.a[x]"},
				`{"b": <b>}`)},
			want:      ErrInvalidPath,
			wantField: `input.template.paths["b"]`,
		},
		{
			name: "long variable path",
			target: &v1.Target{Input: templateInput(map[string]string{"b": longPath},
				`{"b": <b>}`)},
			want:      ErrTooLarge,
			wantField: `input.template.paths["b"]`,
		},
		{
			name:      "too many form fields",
			target:    &v1.Target{Input: formInput(tooManyFields)},
			want:      ErrTooLarge,
			wantField: "input.form.fields",
		},
		{
			name:      "invalid form field path",
			target:    &v1.Target{Input: formInput(map[string]string{"BRANCH": "$.data.ref."})},
			want:      ErrInvalidPath,
			wantField: `input.form.fields["BRANCH"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTarget(tt.target)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidateTarget = %v, want %v", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ValidateTarget = %T, want *FieldError", err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("field = %q, want %q", fe.Field, tt.wantField)
			}
			prefix := tt.wantField + ": "
			if tt.wantLabel != "" {
				prefix = tt.wantLabel
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error = %q, want it to start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantText)
			}
		})
	}
}
