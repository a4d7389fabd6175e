package cloudevent

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheckSourceAccepts(t *testing.T) {
	for _, source := range []string{
		"/ci/jenkins",
		"ci",
		"https://example.com/a?b=c#d",
		"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
		"http://[::1]:8080/x",
		"/x%20y",
		"mailto:ci@example.com",
		" ", // blank: Complete reports it as missing
	} {
		if e := CheckSource(`attribute "source"`, source); e != nil {
			t.Errorf("CheckSource(%q) = %v, want nil", source, e)
		}
	}
}

func TestCheckSourceRejects(t *testing.T) {
	tests := []struct {
		source string
		want   []string
	}{
		{"/x y", []string{"the space at byte 2", `as in "/x%20y"`}},
		{"http://[::1", []string{"missing ']' in host", `such as "/ci/jenkins"`}},
		{"/a[0]", []string{`"[" and "]" are allowed only around an IPv6 host`, `as in "/a%5B0%5D"`}},
		{"http://[::1]/a[0]", []string{`as in "http://[::1]/a%5B0%5D"`}},
		{"/café", []string{"'é' at byte 4", `as in "/caf%C3%A9"`}},
		{"50%", []string{"does not start a %XX escape", `as in "50%25"`}},
		{"/%zz", []string{`as in "/%25zz"`}},
		{"a\tb", []string{`'\t' at byte 1`, `as in "a%09b"`}},
		{"1:x", []string{"colon"}},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			e := CheckSource(`attribute "source"`, tt.source)
			if e == nil {
				t.Fatalf("CheckSource(%q) = nil, want an error", tt.source)
			}
			if e.Code != CodeInvalidAttribute {
				t.Errorf("code = %s, want %s", e.Code, CodeInvalidAttribute)
			}
			prefix := fmt.Sprintf(`attribute "source" is %q, not a valid URI-reference`, tt.source)
			if !strings.HasPrefix(e.Message, prefix) {
				t.Errorf("message = %q, want it to start with %q", e.Message, prefix)
			}
			for _, want := range tt.want {
				if !strings.Contains(e.Message, want) {
					t.Errorf("message = %q, want it to contain %q", e.Message, want)
				}
			}
		})
	}
}

func TestDecodeStructuredChecksSource(t *testing.T) {
	_, e := DecodeStructured([]byte(`{"specversion":"1.0","source":"/x y","type":"t"}`))
	if e == nil {
		t.Fatal("DecodeStructured accepted the source \"/x y\", want InvalidAttribute")
	}
	if e.Code != CodeInvalidAttribute || !strings.Contains(e.Message, `"/x%20y"`) {
		t.Errorf("error = %v, want an InvalidAttribute that suggests \"/x%%20y\"", e)
	}
}
