package render

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// hostileValue is a value placed in an event at $.data.v, as JSON text,
// with its text form: a string's content, or compact JSON otherwise. An
// empty raw leaves $.data.v missing.
type hostileValue struct {
	name string
	raw  string
	text string
}

var longString = strings.Repeat(`ab"c\d`+"\n", 20000)

func hostileValues(t *testing.T) []hostileValue {
	t.Helper()
	longRaw, err := json.Marshal(longString)
	if err != nil {
		t.Fatal(err)
	}
	return []hostileValue{
		{"quotes", `"say \"hi\" 'there'"`, `say "hi" 'there'`},
		{"backslashes", `"C:\\dir\\ and \\\""`, `C:\dir\ and \"`},
		{"newlines", `"a\nb\r\nc\t"`, "a\nb\r\nc\t"},
		{"control characters", `"\u0000\u001f\u007f"`, "\x00\x1f\x7f"},
		{"unicode", `"héllo 世界 🚀 \u2028\u2029"`, "héllo 世界 🚀 \u2028\u2029"},
		{"script end tag", `"</script><script>alert(1)</script>"`, "</script><script>alert(1)</script>"},
		{"placeholder text", `"<v> \\<v>"`, `<v> \<v>`},
		{"empty string", `""`, ""},
		{"long string", string(longRaw), longString},
		{"integer", `42`, "42"},
		{"big float", `-1.5e300`, "-1.5e300"},
		{"true", `true`, "true"},
		{"false", `false`, "false"},
		{"null", `null`, "null"},
		{"nested object", `{"a": {"b": [1, "x\"y", null]}}`, `{"a":{"b":[1,"x\"y",null]}}`},
		{"array", `[ "a", 2 ]`, `["a",2]`},
		{"missing path", "", ""},
	}
}

// eventWith returns a CloudEvent whose data.v is raw, or has no v when
// raw is empty.
func eventWith(raw string) []byte {
	data := `{"other": 1}`
	if raw != "" {
		data = `{"other": 1, "v": ` + raw + `}`
	}
	return []byte(`{"specversion": "1.0", "id": "e1", "data": ` + data + `}`)
}

func TestJSONTemplateHostileValues(t *testing.T) {
	template := `{"raw": <v>, "quoted": "pre <v> post", "list": [<v>, "<v>"], "<v>": 1}`
	target := &v1.Target{Input: templateInput(map[string]string{"v": "$.data.v"}, template)}
	if err := ValidateTarget(target); err != nil {
		t.Fatalf("ValidateTarget: %v", err)
	}

	for _, tt := range hostileValues(t) {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Request(eventWith(tt.raw), Meta{}, target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			body := req.GetBody()
			if !json.Valid(body) {
				t.Fatalf("body is not valid JSON: %q", body)
			}

			var got struct {
				Raw    any
				Quoted string
				List   []any
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("decode body: %v", err)
			}
			want := decodeOrNil(t, tt.raw)
			if !reflect.DeepEqual(got.Raw, want) {
				t.Errorf("raw = %#v, want %#v", got.Raw, want)
			}
			if wantQuoted := "pre " + tt.text + " post"; got.Quoted != wantQuoted {
				t.Errorf("quoted = %.80q, want %.80q", got.Quoted, wantQuoted)
			}
			wantList := []any{want, tt.text}
			if !reflect.DeepEqual(got.List, wantList) {
				t.Errorf("list = %.80v, want %.80v", got.List, wantList)
			}
			if !hasKey(t, body, tt.text) {
				t.Errorf("body %.80q has no key %.80q", body, tt.text)
			}
		})
	}
}

// decodeOrNil decodes raw JSON, and returns nil for a missing value,
// which a JSON template renders as null.
func decodeOrNil(t *testing.T, raw string) any {
	t.Helper()
	if raw == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("test value %q: %v", raw, err)
	}
	return v
}

func hasKey(t *testing.T, body []byte, key string) bool {
	t.Helper()
	var object map[string]any
	if err := json.Unmarshal(body, &object); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	_, ok := object[key]
	return ok
}

func TestTextTemplateHostileValues(t *testing.T) {
	for _, contentType := range []string{"text/plain", "application/xml"} {
		target := &v1.Target{
			ContentType: contentType,
			Input: templateInput(map[string]string{"v": "$.data.v"},
				`<?xml version="1.0"?><a x="<v>">\<b><v></b>`),
		}
		if err := ValidateTarget(target); err != nil {
			t.Fatalf("ValidateTarget: %v", err)
		}

		for _, tt := range hostileValues(t) {
			t.Run(contentType+"/"+tt.name, func(t *testing.T) {
				req, err := Request(eventWith(tt.raw), Meta{}, target)
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				want := `<?xml version="1.0"?><a x="` + tt.text + `"><b>` + tt.text + `</b>`
				if got := string(req.GetBody()); got != want {
					t.Errorf("body = %.100q, want %.100q", got, want)
				}
				if got := req.GetContentType(); got != contentType {
					t.Errorf("content type = %q, want %q", got, contentType)
				}
			})
		}
	}
}

// TestFormTemplateHostileValues shows that a form template escapes each
// value, so that the body decodes back to the values.
func TestFormTemplateHostileValues(t *testing.T) {
	target := &v1.Target{
		ContentType: ContentTypeForm,
		Input: templateInput(map[string]string{"v": "$.data.v"},
			"V=<v>&RULE=<switchyard.rule>&CONST=a+b%26c"),
	}
	if err := ValidateTarget(target); err != nil {
		t.Fatalf("ValidateTarget: %v", err)
	}
	meta := Meta{Rule: "build & deploy"}
	for _, tt := range hostileValues(t) {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Request(eventWith(tt.raw), meta, target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			values, err := url.ParseQuery(string(req.GetBody()))
			if err != nil {
				t.Fatalf("parse body %.80q: %v", req.GetBody(), err)
			}
			if got := values["V"]; len(got) != 1 || got[0] != tt.text {
				t.Errorf("V = %.80q, want [%.80q]", got, tt.text)
			}
			if got := values.Get("RULE"); got != meta.Rule {
				t.Errorf("RULE = %q, want %q", got, meta.Rule)
			}
			if got, want := values.Get("CONST"), "a b&c"; got != want {
				t.Errorf("CONST = %q, want %q", got, want)
			}
		})
	}
}

func TestFormBodyHostileValues(t *testing.T) {
	target := &v1.Target{Input: formInput(map[string]string{
		"V":     "$.data.v",
		"CONST": `a&b=c "d"`,
	})}
	for _, tt := range hostileValues(t) {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Request(eventWith(tt.raw), Meta{}, target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := req.GetContentType(); got != ContentTypeForm {
				t.Errorf("content type = %q, want %q", got, ContentTypeForm)
			}
			values, err := url.ParseQuery(string(req.GetBody()))
			if err != nil {
				t.Fatalf("parse body %.80q: %v", req.GetBody(), err)
			}
			if got := values["V"]; len(got) != 1 || got[0] != tt.text {
				t.Errorf("V = %.80q, want [%.80q]", got, tt.text)
			}
			if got, want := values.Get("CONST"), `a&b=c "d"`; got != want {
				t.Errorf("CONST = %q, want %q", got, want)
			}
		})
	}
}

func TestHeaderQueryHostileValues(t *testing.T) {
	for _, tt := range hostileValues(t) {
		t.Run(tt.name, func(t *testing.T) {
			target := &v1.Target{
				Headers: map[string]string{"X-V": "$.data.v"},
				Query:   map[string]string{"v": "$.data.v"},
			}
			// Request rejects an empty path value and a dot segment, so
			// those values are checked as headers and query only.
			pathValue := &v1.Target{PathValues: []string{"$.data.v"}}
			_, err := Request(eventWith(tt.raw), Meta{}, pathValue)
			unsafePath := checkPathValue(tt.text) != nil
			if unsafePath && !errors.Is(err, ErrInvalidPathValue) {
				t.Errorf("Request with path value %.80q = %v, want ErrInvalidPathValue", tt.text, err)
			}
			if !unsafePath {
				target.PathValues = pathValue.PathValues
			}

			req, err := Request(eventWith(tt.raw), Meta{}, target)
			if strings.IndexFunc(tt.text, isControl) >= 0 {
				if err == nil {
					t.Fatalf("Request rendered header %.80q, want an error", tt.text)
				}
				return
			}
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if !unsafePath && req.GetPathValues()[0] != tt.text {
				t.Errorf("path value = %.80q, want %.80q", req.GetPathValues()[0], tt.text)
			}
			if tt.raw == "" {
				// A path that selects nothing leaves them out.
				if len(req.GetHeaders()) != 0 || len(req.GetQuery()) != 0 {
					t.Errorf("headers %v, query %v for a missing path, want none",
						req.GetHeaders(), req.GetQuery())
				}
				return
			}
			if got := req.GetHeaders()[0].GetValue(); got != tt.text {
				t.Errorf("header = %.80q, want %.80q", got, tt.text)
			}
			if got := req.GetQuery()[0].GetValue(); got != tt.text {
				t.Errorf("query = %.80q, want %.80q", got, tt.text)
			}
		})
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name     string
		template string
		jsonMode bool
		want     []segment
	}{
		{
			name:     "placeholders inside and outside strings",
			template: `{"a": <x>, "b": "<y>"}`,
			jsonMode: true,
			want: []segment{
				{literal: `{"a": `}, {variable: "x"}, {literal: `, "b": "`},
				{variable: "y", inString: true}, {literal: `"}`},
			},
		},
		{
			name:     "escaped quote keeps the string open",
			template: `{"a": "\"<x>"}`,
			jsonMode: true,
			want: []segment{
				{literal: `{"a": "\"`}, {variable: "x", inString: true}, {literal: `"}`},
			},
		},
		{
			name:     "escaped backslash before placeholder",
			template: `"\\<x>"`,
			jsonMode: true,
			want:     []segment{{literal: `"\\`}, {variable: "x", inString: true}, {literal: `"`}},
		},
		{
			name:     "escaped placeholder",
			template: `"\<x>" \<y>`,
			jsonMode: true,
			want:     []segment{{literal: `"<x>" <y>`}},
		},
		{
			name:     "text is not JSON",
			template: `"<x>"`,
			want:     []segment{{literal: `"`}, {variable: "x"}, {literal: `"`}},
		},
		{
			name:     "angle brackets that are not placeholders",
			template: `</a> <?xml <!-- a < b <1> <a b> <a.b-c_d>`,
			want: []segment{
				{literal: `</a> <?xml <!-- a < b <1> <a b> `}, {variable: "a.b-c_d"},
			},
		},
		{
			name:     "unterminated placeholder",
			template: `<abc`,
			want:     []segment{{literal: `<abc`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseTemplate(tt.template, tt.jsonMode)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseTemplate(%q) = %+v, want %+v", tt.template, got, tt.want)
			}
		})
	}
}

// FuzzJSONTemplate checks that a JSON template that ValidateTarget
// accepts renders valid JSON for any variable value, given as a string
// and as raw JSON.
func FuzzJSONTemplate(f *testing.F) {
	f.Add(`{"a": <v>, "b": "x <v> y", "<v>": [<v>]}`, "q\"\\\n</script>", `{"k":[1]}`)
	f.Add(`[<v>, "\\<v>", "\"<v>"]`, "\u2028\x00", `-0.5e-3`)
	f.Add(`"<v>"`, "\xff\xfe", `"\ud800"`)
	f.Add(`<v>`, "", `null`)
	f.Add(`{"e": <switchyard.event>, "r": "<switchyard.rule>"}`, "x", `true`)

	f.Fuzz(func(t *testing.T, template, text, raw string) {
		target := &v1.Target{Input: templateInput(map[string]string{
			"v": "$.data.v",
		}, template)}
		if ValidateTarget(target) != nil {
			t.Skip("ValidateTarget rejects the template")
		}

		textRaw, err := json.Marshal(text)
		if err != nil {
			t.Fatal(err)
		}
		values := []string{string(textRaw), ""}
		if json.Valid([]byte(raw)) {
			values = append(values, raw)
		}
		meta := Meta{Rule: text, Bus: text, EventID: text}
		for _, v := range values {
			req, err := Request(eventWith(v), meta, target)
			if err != nil {
				t.Fatalf("Request with value %q: %v", v, err)
			}
			if !json.Valid(req.GetBody()) {
				t.Fatalf("template %q with value %q renders invalid JSON %q",
					template, v, req.GetBody())
			}
		}
	})
}
