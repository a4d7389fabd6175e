package cloudevent

import (
	"strings"
	"testing"
)

func TestCheckNumbers(t *testing.T) {
	tests := []struct {
		raw  string
		root string
		want string
	}{
		{`{"n":1e400}`, "$.data", "the number 1e400 at $.data.n is out of the range"},
		{`[1, {"a b": -1e999}]`, "$", `the number -1e999 at $[1]["a b"] is out of the range`},
		{`1e400`, "$.data", "the number 1e400 at $.data is out of the range"},
	}
	for _, tt := range tests {
		e := CheckNumbers([]byte(tt.raw), tt.root)
		if e == nil {
			t.Errorf("CheckNumbers(%s) = nil, want an error", tt.raw)
			continue
		}
		if e.Code != CodeMalformedEvent {
			t.Errorf("CheckNumbers(%s) code = %s, want %s", tt.raw, e.Code, CodeMalformedEvent)
		}
		if !strings.Contains(e.Message, tt.want) {
			t.Errorf("CheckNumbers(%s) = %q, want it to contain %q", tt.raw, e.Message, tt.want)
		}
	}

	for _, raw := range []string{`{"n":1.7e308}`, `[1, 2.5, -3]`, `{"n":`} {
		if e := CheckNumbers([]byte(raw), "$"); e != nil {
			t.Errorf("CheckNumbers(%s) = %v, want nil", raw, e)
		}
	}
}

func TestJSONKind(t *testing.T) {
	tests := map[string]string{
		` {"a":1}`: "an object",
		"\n[1]":    "an array",
		`"s"`:      "a string",
		`true`:     "a boolean",
		`false`:    "a boolean",
		`null`:     "null",
		`-1`:       "a number",
		`7`:        "a number",
		``:         "nothing",
		`<xml>`:    "not JSON",
	}
	for raw, want := range tests {
		if got := JSONKind([]byte(raw)); got != want {
			t.Errorf("JSONKind(%q) = %q, want %q", raw, got, want)
		}
	}
}
