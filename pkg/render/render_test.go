package render

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
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
    "commits": [{"id": "c0"}, {"id": "c1", "files": ["x.go"]}],
    "odd.name": {"[0]": "dotted"}, "it's": "quoted",
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
		{"lone dollar is constant", "$", "$"},
		{"string", "$.data.repository.name", "shop"},
		{"top-level string", "$.id", "e1"},
		{"bracket member", "$['data']['repository']['name']", "shop"},
		{"double-quoted member", `$["data"].repository["name"]`, "shop"},
		{"member with dot", "$.data['odd.name']['[0]']", "dotted"},
		{"escaped quote", `$.data['it\'s']`, "quoted"},
		{"array index", "$.data.tags[1]", "b"},
		{"index then member", "$.data.commits[1].id", "c1"},
		{"nested indexes", "$.data.commits[1].files[0]", "x.go"},
		{"integer", "$.data.repository.stars", "42"},
		{"decimal keeps its text", "$.data.repository.price", "1.50"},
		{"null", "$.data.branch", "null"},
		{"false", "$.data.private", "false"},
		{"array", "$.data.tags", `["a","b"]`},
		{"object is compacted", "$.data.repository", `{"name":"shop","stars":42,"price":1.50}`},
		{"missing field", "$.data.nope", ""},
		{"missing parent", "$.nope.name", ""},
		{"index out of range", "$.data.tags[2]", ""},
		{"index on object", "$.data.repository[0]", ""},
		{"member of array", "$.data.tags.0", ""},
		{"below a string", "$.data.repository.name.first", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &v1.Target{
				Headers: map[string]string{"X-Value": tt.spec},
				Query:   map[string]string{"value": tt.spec},
			}
			// An empty path value is an error of its own, tested in
			// TestRequestRejectsUnsafePathValues.
			if tt.want != "" {
				target.PathValues = []string{tt.spec}
			}
			req, err := Request([]byte(testEvent), Meta{}, target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if tt.want != "" && !slices.Equal(req.GetPathValues(), []string{tt.want}) {
				t.Errorf("path values = %q, want [%q]", req.GetPathValues(), tt.want)
			}
			// A path that selects nothing leaves the header and the
			// query parameter out.
			want := 1
			if tt.want == "" {
				want = 0
			}
			if got := len(req.GetHeaders()); got != want {
				t.Fatalf("%d headers, want %d", got, want)
			}
			if got := len(req.GetQuery()); got != want {
				t.Fatalf("%d query parameters, want %d", got, want)
			}
			if want == 0 {
				return
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

func TestRequestEmptyStringKept(t *testing.T) {
	target := &v1.Target{
		Headers: map[string]string{"X-Empty": "$.data.empty"},
		Query:   map[string]string{"empty": "$.data.empty"},
	}
	req, err := Request([]byte(`{"data": {"empty": ""}}`), Meta{}, target)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if len(req.GetHeaders()) != 1 || req.GetHeaders()[0].GetValue() != "" {
		t.Errorf("headers = %v, want X-Empty with an empty value", req.GetHeaders())
	}
	if len(req.GetQuery()) != 1 || req.GetQuery()[0].GetValue() != "" {
		t.Errorf("query = %v, want empty= with an empty value", req.GetQuery())
	}
}

// TestRequestHostileValues shows that path and query values pass
// unchanged, for delivery to escape, while a header value that HTTP
// cannot carry fails the render.
func TestRequestHostileValues(t *testing.T) {
	want := "../x?y=1&z#f\r\nX-Evil: 1"
	target := &v1.Target{
		PathValues: []string{"$.data.hostile"},
		Query:      map[string]string{"q": "$.data.hostile"},
	}
	req, err := Request([]byte(testEvent), Meta{}, target)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if got := req.GetPathValues()[0]; got != want {
		t.Errorf("path value = %q, want %q", got, want)
	}
	if got := req.GetQuery()[0].GetValue(); got != want {
		t.Errorf("query value = %q, want %q", got, want)
	}

	target = &v1.Target{Headers: map[string]string{"X-Evil": "$.data.hostile"}}
	_, err = Request([]byte(testEvent), Meta{}, target)
	if !errors.Is(err, ErrInvalidHeaderValue) {
		t.Errorf("Request with CR LF header error = %v, want %v", err, ErrInvalidHeaderValue)
	}
	if err != nil && !strings.HasPrefix(err.Error(), `headers["X-Evil"]: `) {
		t.Errorf("error = %q, want it to name headers[\"X-Evil\"]", err)
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
			input:    pathInput("$.data.repository"),
			wantBody: `{"name":"shop","stars":42,"price":1.50}`,
			wantType: ContentTypeJSON,
		},
		{
			name:     "path to string stays JSON",
			input:    pathInput("$.data.repository.name"),
			wantBody: `"shop"`,
			wantType: ContentTypeJSON,
		},
		{
			name:        "path to string as text has no quotes",
			input:       pathInput("$.data.hostile"),
			contentType: "text/plain; charset=utf-8",
			wantBody:    "../x?y=1&z#f\r\nX-Evil: 1",
			wantType:    "text/plain; charset=utf-8",
		},
		{
			name:        "path to object as text",
			input:       pathInput("$.data.tags"),
			contentType: "text/plain",
			wantBody:    `["a","b"]`,
			wantType:    "text/plain",
		},
		{
			name:     "path to array element",
			input:    pathInput("$.data.commits[0]"),
			wantBody: `{"id":"c0"}`,
			wantType: ContentTypeJSON,
		},
		{
			name:     "path to root",
			input:    pathInput("$"),
			wantBody: compact(testEvent),
			wantType: ContentTypeJSON,
		},
		{
			name:     "path to nothing is null",
			input:    pathInput("$.data.nope"),
			wantBody: "null",
			wantType: ContentTypeJSON,
		},
		{
			name:        "path to nothing as text is empty",
			input:       pathInput("$.data.nope"),
			contentType: "text/plain",
			wantBody:    "",
			wantType:    "text/plain",
		},
		{
			name:     "constant",
			input:    &v1.Input{Kind: &v1.Input_Constant{Constant: `{"parameter":[]}`}},
			wantBody: `{"parameter":[]}`,
			wantType: ContentTypeJSON,
		},
		{
			name:        "text constant is not quoted",
			input:       &v1.Input{Kind: &v1.Input_Constant{Constant: `say "hi"`}},
			contentType: "text/plain",
			wantBody:    `say "hi"`,
			wantType:    "text/plain",
		},
		{
			name: "form",
			input: formInput(map[string]string{
				"REPO":  "$.data.repository.name",
				"STARS": "$.data.repository.stars",
				"EVIL":  "$.data.hostile",
				"MODE":  "a b&c=d",
				"NONE":  "$.data.nope",
			}),
			wantBody: "EVIL=..%2Fx%3Fy%3D1%26z%23f%0D%0AX-Evil%3A+1" +
				"&MODE=a+b%26c%3Dd&NONE=&REPO=shop&STARS=42",
			wantType: ContentTypeForm,
		},
		{
			name:        "form with content type set by target",
			input:       formInput(nil),
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
	tests := []struct {
		name      string
		event     string
		target    *v1.Target
		want      error
		wantField string
	}{
		{
			name:      "empty field in path",
			event:     testEvent,
			target:    &v1.Target{PathValues: []string{"$.data..name"}},
			want:      ErrInvalidPath,
			wantField: "path_values[0]",
		},
		{
			name:      "trailing dot in path",
			event:     testEvent,
			target:    &v1.Target{Headers: map[string]string{"X": "$."}},
			want:      ErrInvalidPath,
			wantField: `headers["X"]`,
		},
		{
			name:      "input path without prefix",
			event:     testEvent,
			target:    &v1.Target{Input: pathInput("data")},
			want:      ErrInvalidPath,
			wantField: "input.path",
		},
		{
			name:      "event not JSON",
			event:     `{"id": `,
			target:    &v1.Target{Query: map[string]string{"q": "$.id"}},
			want:      ErrInvalidEvent,
			wantField: `query["q"]`,
		},
		{
			name:      "event is an array",
			event:     `[{"id": "e1"}]`,
			target:    &v1.Target{PathValues: []string{"$[0].id"}},
			want:      ErrInvalidEvent,
			wantField: "path_values[0]",
		},
		{
			name:      "event is null",
			event:     `null`,
			target:    &v1.Target{PathValues: []string{"$.id"}},
			want:      ErrInvalidEvent,
			wantField: "path_values[0]",
		},
		{
			name:      "form field on invalid event",
			event:     `nope`,
			target:    &v1.Target{Input: formInput(map[string]string{"a": "$.a"})},
			want:      ErrInvalidEvent,
			wantField: `input.form.fields["a"]`,
		},
		{
			name:  "whole event in template on invalid event",
			event: `nope`,
			target: &v1.Target{Input: templateInput(nil, `{"e": <switchyard.event>}`),
				ContentType: ContentTypeJSON},
			want:      ErrInvalidEvent,
			wantField: "input.template",
		},
		{
			name:      "unknown variable",
			event:     testEvent,
			target:    &v1.Target{Input: templateInput(nil, `{"b": "<branch>"}`)},
			want:      ErrUnknownVariable,
			wantField: "input.template",
		},
		{
			name:      "JSON template that renders invalid JSON",
			event:     testEvent,
			target:    &v1.Target{Input: templateInput(nil, `{"b": <switchyard.rule>`)},
			want:      ErrInvalidJSON,
			wantField: "input.template",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Request([]byte(tt.event), Meta{}, tt.target)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Request error = %v, want %v", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Request error = %T, want *FieldError", err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("field = %q, want %q", fe.Field, tt.wantField)
			}
		})
	}
}

func TestRequestRejectsUnsafePathValues(t *testing.T) {
	event := `{"id": "e1", "data": {"empty": "", "dot": ".", "dots": "..", "name": "..x"}}`
	tests := []struct {
		spec string
		want string
	}{
		{"$.data.nope", "path value 2 ($.data.nope) is empty, because the JSON path matched nothing"},
		{"$.data.empty", "path value 2 ($.data.empty) is empty"},
		{"$.data.dot", `path value 2 ($.data.dot) is ".", a dot segment that would change the URL path; ` +
			"send events with another value there"},
		{"$.data.dots", `path value 2 ($.data.dots) is "..", a dot segment`},
		{"..", `path value 2 (constant "..") is "..", a dot segment that would change the URL path; ` +
			"change the constant"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			target := &v1.Target{PathValues: []string{"job", tt.spec}}
			_, err := Request([]byte(event), Meta{}, target)
			if !errors.Is(err, ErrInvalidPathValue) {
				t.Fatalf("Request error = %v, want ErrInvalidPathValue", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Request error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "path_values") {
				t.Errorf("Request error = %q names the proto field, want the path value", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "path_values[1]" {
				t.Errorf("Request error = %#v, want a FieldError for path_values[1]", err)
			}
		})
	}

	req, err := Request([]byte(event), Meta{}, &v1.Target{PathValues: []string{"$.data.name"}})
	if err != nil {
		t.Fatalf("Request with path value ..x = %v, want it accepted", err)
	}
	if got := req.GetPathValues()[0]; got != "..x" {
		t.Errorf("path value = %q, want ..x", got)
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

func TestRequestBuiltins(t *testing.T) {
	meta := Meta{
		Bus:        "default",
		Rule:       "build-on-push",
		EventID:    "e1",
		IngestTime: time.Date(2026, 12, 4, 16, 30, 0, 5e6, time.FixedZone("CET", 3600)),
	}
	template := `{"rule": <switchyard.rule>, "bus": "<switchyard.bus>", ` +
		`"id": <switchyard.event-id>, "at": <switchyard.ingestion-time>, ` +
		`"type": <switchyard.event>}`
	target := &v1.Target{Input: templateInput(nil, template)}
	req, err := Request([]byte(testEvent), meta, target)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}

	var got struct {
		Rule, Bus, ID, At string
		Type              map[string]any
	}
	if err := json.Unmarshal(req.GetBody(), &got); err != nil {
		t.Fatalf("body %s: %v", req.GetBody(), err)
	}
	if got.Rule != meta.Rule || got.Bus != meta.Bus || got.ID != meta.EventID {
		t.Errorf("rule, bus, id = %q, %q, %q; want %q, %q, %q",
			got.Rule, got.Bus, got.ID, meta.Rule, meta.Bus, meta.EventID)
	}
	if want := "2026-12-04T15:30:00.005Z"; got.At != want {
		t.Errorf("ingestion time = %q, want %q", got.At, want)
	}
	if got.Type["type"] != "push" {
		t.Errorf("event = %v, want the whole event", got.Type)
	}
}

func TestRequestBuiltinsInText(t *testing.T) {
	target := &v1.Target{
		ContentType: "text/plain",
		Input: templateInput(nil, "<switchyard.rule> on <switchyard.bus>: "+
			"[<switchyard.ingestion-time>] <switchyard.event>"),
	}
	req, err := Request([]byte(`{"id":"e1"}`), Meta{Rule: "r", Bus: "b"}, target)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if got, want := string(req.GetBody()), `r on b: [] {"id":"e1"}`; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func pathInput(path string) *v1.Input {
	return &v1.Input{Kind: &v1.Input_Path{Path: path}}
}

func formInput(fields map[string]string) *v1.Input {
	return &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{Fields: fields}}}
}

func templateInput(paths map[string]string, template string) *v1.Input {
	return &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{
		Paths: paths, Template: template,
	}}}
}

func compact(s string) string {
	b, err := compactJSON([]byte(s))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func equalMessages[M proto.Message](a, b []M) bool {
	return slices.EqualFunc(a, b, func(x, y M) bool { return proto.Equal(x, y) })
}

// FuzzRequest checks that no event or path makes Request panic.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(testEvent), "$.data.repository.name")
	f.Add([]byte(`{"a":{"b":"\u00e9\n"}}`), "$.a.b")
	f.Add([]byte(`{"a":[1,{"b":2}]}`), "$.a[1]['b']")
	f.Add([]byte(`{"a":1e400}`), "$.a")
	f.Add([]byte(`{"a":`), "$.a")
	f.Add([]byte(`"x"`), "$")

	f.Fuzz(func(t *testing.T, event []byte, spec string) {
		target := &v1.Target{
			PathValues: []string{spec},
		}
		_, _ = Request(event, Meta{}, target)
		target.Input = pathInput(spec)
		_, _ = Request(event, Meta{}, target)
	})
}

// FuzzRequestString checks that a string selected by a path comes back
// exactly as it was before JSON encoding, whatever the member name.
func FuzzRequestString(f *testing.F) {
	f.Add("name", "shop")
	f.Add("k", "line\r\nX-Evil: 1")
	f.Add("it's [0]", "<script>\"&'")
	f.Add("\u2028\\", "</script>")

	f.Fuzz(func(t *testing.T, key, value string) {
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			t.Skip("JSON encoding replaces invalid UTF-8")
		}
		if checkPathValue(value) != nil {
			t.Skip("Request rejects an empty path value and a dot segment")
		}
		event, err := json.Marshal(map[string]any{"data": map[string]string{key: value}})
		if err != nil {
			t.Fatal(err)
		}

		quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(key)
		target := &v1.Target{PathValues: []string{"$.data['" + quoted + "']"}}
		req, err := Request(event, Meta{}, target)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		if got := req.GetPathValues()[0]; got != value {
			t.Errorf("path value = %q, want %q", got, value)
		}
	})
}
