package render

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const testEvent = `{
  "specversion": "1.0", "id": "e1", "source": "git", "type": "push",
  "data": {
    "repository": {"name": "shop", "stars": 42, "price": 1.50},
    "branch": null, "private": false, "tags": ["a", "b"],
    "hostile": "../x?y=1&z#f\r\nX-Evil: 1"
  }
}`

func TestRequestValues(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want string
	}{
		{"constant", "main", "main"},
		{"constant with dollar", "$HOME", "$HOME"},
		{"string", "$.data.repository.name", "shop"},
		{"top-level string", "$.id", "e1"},
		{"integer", "$.data.repository.stars", "42"},
		{"decimal keeps its text", "$.data.repository.price", "1.50"},
		{"null", "$.data.branch", "null"},
		{"false", "$.data.private", "false"},
		{"array", "$.data.tags", `["a","b"]`},
		{"object is compacted", "$.data.repository", `{"name":"shop","stars":42,"price":1.50}`},
		{"missing field", "$.data.nope", ""},
		{"missing parent", "$.nope.name", ""},
		{"below a string", "$.data.repository.name.first", ""},
		{"below an array", "$.data.tags.0", ""},
		// Escaping is delivery's job, so hostile text passes unchanged.
		{"hostile string", "$.data.hostile", "../x?y=1&z#f\r\nX-Evil: 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &v1.Target{
				PathValues: []string{tt.spec},
				Headers:    map[string]string{"X-Value": tt.spec},
				Query:      map[string]string{"value": tt.spec},
			}
			req, err := Request([]byte(testEvent), Meta{}, target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := req.GetPathValues(); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("path values = %q, want [%q]", got, tt.want)
			}
			if got := req.GetHeaders()[0].GetValue(); got != tt.want {
				t.Errorf("header = %q, want %q", got, tt.want)
			}
			if got := req.GetQuery()[0].GetValue(); got != tt.want {
				t.Errorf("query value = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequestOrder(t *testing.T) {
	target := &v1.Target{
		PathValues: []string{"$.data.repository.name", "x", "$.id"},
		Headers:    map[string]string{"X-B": "2", "X-A": "1", "X-C": "3"},
		Query:      map[string]string{"b": "2", "a": "1"},
	}
	req, err := Request([]byte(testEvent), Meta{}, target)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}

	if got, want := req.GetPathValues(), []string{"shop", "x", "e1"}; !slices.Equal(got, want) {
		t.Errorf("path values = %q, want %q", got, want)
	}
	wantHeaders := []*internalv1.Header{
		{Name: "X-A", Value: "1"}, {Name: "X-B", Value: "2"}, {Name: "X-C", Value: "3"},
	}
	if got := req.GetHeaders(); !equalMessages(got, wantHeaders) {
		t.Errorf("headers = %v, want %v", got, wantHeaders)
	}
	wantQuery := []*internalv1.QueryParameter{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}
	if got := req.GetQuery(); !equalMessages(got, wantQuery) {
		t.Errorf("query = %v, want %v", got, wantQuery)
	}
}

func TestRequestBody(t *testing.T) {
	tests := []struct {
		name        string
		input       *v1.Input
		contentType string
		wantBody    string
		wantType    string
	}{
		{
			name:     "whole event by default",
			wantBody: testEvent,
			wantType: ContentTypeJSON,
		},
		{
			name:     "input without a kind",
			input:    &v1.Input{},
			wantBody: testEvent,
			wantType: ContentTypeJSON,
		},
		{
			name:        "content type set by target",
			contentType: "application/cloudevents+json",
			wantBody:    testEvent,
			wantType:    "application/cloudevents+json",
		},
		{
			name:     "path to object",
			input:    &v1.Input{Kind: &v1.Input_Path{Path: "$.data.repository"}},
			wantBody: `{"name":"shop","stars":42,"price":1.50}`,
			wantType: ContentTypeJSON,
		},
		{
			name:     "path to string stays JSON",
			input:    &v1.Input{Kind: &v1.Input_Path{Path: "$.data.repository.name"}},
			wantBody: `"shop"`,
			wantType: ContentTypeJSON,
		},
		{
			name:     "path to root",
			input:    &v1.Input{Kind: &v1.Input_Path{Path: "$"}},
			wantBody: testEvent,
			wantType: ContentTypeJSON,
		},
		{
			name:     "path to nothing",
			input:    &v1.Input{Kind: &v1.Input_Path{Path: "$.data.nope"}},
			wantBody: "",
			wantType: ContentTypeJSON,
		},
		{
			name:     "constant",
			input:    &v1.Input{Kind: &v1.Input_Constant{Constant: `{"parameter":[]}`}},
			wantBody: `{"parameter":[]}`,
			wantType: ContentTypeJSON,
		},
		{
			name: "form",
			input: &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{Fields: map[string]string{
				"REPO":  "$.data.repository.name",
				"STARS": "$.data.repository.stars",
				"EVIL":  "$.data.hostile",
				"MODE":  "a b&c=d",
				"NONE":  "$.data.nope",
			}}}},
			wantBody: "EVIL=..%2Fx%3Fy%3D1%26z%23f%0D%0AX-Evil%3A+1" +
				"&MODE=a+b%26c%3Dd&NONE=&REPO=shop&STARS=42",
			wantType: ContentTypeForm,
		},
		{
			name:        "form with content type set by target",
			input:       &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{}}},
			contentType: "text/plain",
			wantBody:    "",
			wantType:    "text/plain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &v1.Target{Input: tt.input, ContentType: tt.contentType}
			req, err := Request([]byte(testEvent), Meta{}, target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := string(req.GetBody()); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if got := req.GetContentType(); got != tt.wantType {
				t.Errorf("content type = %q, want %q", got, tt.wantType)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	template := &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{
		Paths:    map[string]string{"name": "$.data.repository.name"},
		Template: `{"job": "<name>"}`,
	}}}
	tests := []struct {
		name   string
		event  string
		target *v1.Target
		want   error
	}{
		{
			name:   "template",
			event:  testEvent,
			target: &v1.Target{Input: template},
			want:   ErrTemplateUnsupported,
		},
		{
			name:   "empty field in path",
			event:  testEvent,
			target: &v1.Target{PathValues: []string{"$.data..name"}},
			want:   ErrInvalidPath,
		},
		{
			name:   "trailing dot in path",
			event:  testEvent,
			target: &v1.Target{Headers: map[string]string{"X": "$."}},
			want:   ErrInvalidPath,
		},
		{
			name:   "input path without prefix",
			event:  testEvent,
			target: &v1.Target{Input: &v1.Input{Kind: &v1.Input_Path{Path: "data"}}},
			want:   ErrInvalidPath,
		},
		{
			name:   "event not JSON",
			event:  `{"id": `,
			target: &v1.Target{Query: map[string]string{"q": "$.id"}},
			want:   ErrInvalidEvent,
		},
		{
			name:   "event is an array",
			event:  `[{"id": "e1"}]`,
			target: &v1.Target{PathValues: []string{"$.id"}},
			want:   ErrInvalidEvent,
		},
		{
			name:   "event is null",
			event:  `null`,
			target: &v1.Target{PathValues: []string{"$.id"}},
			want:   ErrInvalidEvent,
		},
		{
			name:  "form field on invalid event",
			event: `nope`,
			target: &v1.Target{Input: &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{
				Fields: map[string]string{"a": "$.a"},
			}}}},
			want: ErrInvalidEvent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Request([]byte(tt.event), Meta{}, tt.target)
			if !errors.Is(err, tt.want) {
				t.Errorf("Request error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRequestConstantsSkipEvent shows that a target without paths does not
// read the event, so rendering it cannot fail on the event's content.
func TestRequestConstantsSkipEvent(t *testing.T) {
	target := &v1.Target{PathValues: []string{"job"}, Headers: map[string]string{"X": "1"}}
	req, err := Request([]byte("not json"), Meta{}, target)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if got, want := string(req.GetBody()), "not json"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func equalMessages[M proto.Message](a, b []M) bool {
	return slices.EqualFunc(a, b, func(x, y M) bool { return proto.Equal(x, y) })
}

// FuzzRequest checks that no event or path makes Request panic.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(testEvent), "$.data.repository.name")
	f.Add([]byte(`{"a":{"b":"\u00e9\n"}}`), "$.a.b")
	f.Add([]byte(`{"a":1e400}`), "$.a")
	f.Add([]byte(`{"a":`), "$.a")
	f.Add([]byte(`"x"`), "$")

	f.Fuzz(func(t *testing.T, event []byte, spec string) {
		target := &v1.Target{
			PathValues: []string{spec},
		}
		_, _ = Request(event, Meta{}, target)
		target.Input = &v1.Input{Kind: &v1.Input_Path{Path: spec}}
		_, _ = Request(event, Meta{}, target)
	})
}

// FuzzRequestString checks that a string selected by a path comes back
// exactly as it was before JSON encoding.
func FuzzRequestString(f *testing.F) {
	f.Add("name", "shop")
	f.Add("k", "line\r\nX-Evil: 1")
	f.Add("\u2028", "<script>\"&'")

	f.Fuzz(func(t *testing.T, key, value string) {
		if key == "" || strings.Contains(key, ".") {
			t.Skip("a field name cannot be empty or hold a dot")
		}
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			t.Skip("JSON encoding replaces invalid UTF-8")
		}
		event, err := json.Marshal(map[string]any{"data": map[string]string{key: value}})
		if err != nil {
			t.Fatal(err)
		}

		target := &v1.Target{PathValues: []string{"$.data." + key}}
		req, err := Request(event, Meta{}, target)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		if got := req.GetPathValues()[0]; got != value {
			t.Errorf("path value = %q, want %q", got, value)
		}
	})
}
