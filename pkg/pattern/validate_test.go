package pattern

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth) + `["x"]` + strings.Repeat("}", MaxDepth)
	tooDeep := strings.Repeat(`{"a":`, MaxDepth+1) + `["x"]` + strings.Repeat("}", MaxDepth+1)
	manyValues := `{"a":[` + strings.Repeat(`1,`, MaxValuesPerField) + `1]}`
	// Three $or of ten alternatives each expand to 1,000 combinations.
	ten := `[` + strings.Repeat(`{"x":[1]},`, 9) + `{"x":[2]}]`
	thousand := `{"$or":` + ten + `,"b":{"$or":` + ten + `},"c":{"$or":` + ten + `}}`
	tooMany := `{"$or":` + ten + `,"b":{"$or":` + ten + `},"c":{"$or":` + ten + `},"d":{"$or":[{"y":[1]},{"y":[2]}]}}`
	tests := []struct {
		pattern string
		want    string // the error text, or "" for a valid pattern
	}{
		{`{"data":{"ref":[{"prefx":"a"}]}}`, `data.ref[0]: unknown operator "prefx"`},
		{`[]`, `expected a JSON object, found array`},
		{`{`, `invalid JSON: unexpected EOF`},
		{`{} {}`, `invalid JSON: unexpected data after the pattern object`},
		{`{}`, `empty object; expected at least one field`},
		{`{"a":{}}`, `a: empty object; expected at least one field`},
		{`{"a":"x"}`, `a: expected an array of conditions or an object, found string`},
		{`{"a":[]}`, `a: empty array; expected at least one condition`},
		{`{"a":[["x"]]}`, `a[0]: expected a value or an operator object, found array`},
		{`{"a":[{"prefix":"x","suffix":"y"}]}`, `a[0]: expected an object with one operator, found 2 fields`},
		{`{"a":[{"prefix":1}]}`, `a[0].prefix: expected a string or {"equals-ignore-case": string}, found number`},
		{`{"a":[{"prefix":{"equals-ignore-case":1}}]}`, `a[0].prefix.equals-ignore-case: expected a string, found number`},
		{`{"a":[{"suffix":{"x":"y"}}]}`, `a[0].suffix: expected a string or {"equals-ignore-case": string}, found object`},
		{`{"a":[{"equals-ignore-case":null}]}`, `a[0].equals-ignore-case: expected a string, found null`},
		{`{"a":[{"contains":[]}]}`, `a[0].contains: expected a string, found array`},
		{`{"a":[{"wildcard":"a**b"}]}`, `a[0].wildcard: consecutive '*' characters are not allowed`},
		{`{"a":[{"wildcard":"a\\b"}]}`, `a[0].wildcard: invalid escape; only \* and \\ are allowed`},
		{`{"a":[{"wildcard":"a\\"}]}`, `a[0].wildcard: invalid escape; only \* and \\ are allowed`},
		{`{"a":[{"wildcard":"a*\\**"}]}`, ``},
		{`{"a":[{"exists":"yes"}]}`, `a[0].exists: expected true or false, found string`},
		{`{"a":[{"cidr":"10.0.0.0"}]}`, `a[0].cidr: invalid CIDR "10.0.0.0"; expected a form such as 10.0.0.0/24 or 2001:db8::/32`},
		{`{"a":[{"cidr":5}]}`, `a[0].cidr: expected a CIDR string, found number`},
		{`{"a":[{"numeric":[">"]}]}`, `a[0].numeric: expected [operator, number] or [lower operator, number, upper operator, number]`},
		{`{"a":[{"numeric":[">","1"]}]}`, `a[0].numeric[1]: expected a number, found string`},
		{`{"a":[{"numeric":["!=",1]}]}`, `a[0].numeric[0]: unexpected operator "!="; a range needs one of > >= and one of < <=`},
		{`{"a":[{"numeric":[">",1,">",2]}]}`, `a[0].numeric[2]: unexpected operator ">"; a range needs one of > >= and one of < <=`},
		{`{"a":[{"numeric":["=",1,"<",2]}]}`, `a[0].numeric[0]: unexpected operator "="; a range needs one of > >= and one of < <=`},
		{`{"a":[{"numeric":[">",5,"<",1]}]}`, `a[0].numeric: numeric range is empty`},
		{`{"a":[{"numeric":[">",5,"<=",5]}]}`, `a[0].numeric: numeric range is empty`},
		{`{"a":[{"numeric":[">=",5,"<=",5]}]}`, ``},
		{`{"a":[{"numeric":[1,5]}]}`, `a[0].numeric[0]: expected one of "=", "<", "<=", ">", ">="`},
		{`{"a":[1e400]}`, `a[0]: number 1e400 is out of range`},
		{`{"a":[{"anything-but":true}]}`, `a[0].anything-but: expected a string, a number, a list of strings or numbers, or an object with prefix, suffix, equals-ignore-case or wildcard, found boolean`},
		{`{"a":[{"anything-but":[]}]}`, `a[0].anything-but: expected a list of 1 to 256 values`},
		{`{"a":[{"anything-but":["x",1]}]}`, `a[0].anything-but[1]: expected only strings or only numbers in the list`},
		{`{"a":[{"anything-but":[null]}]}`, `a[0].anything-but[0]: expected a string or number, found null`},
		{`{"a":[{"anything-but":{"contains":"x"}}]}`, `a[0].anything-but: expected an object with one of prefix, suffix, equals-ignore-case, wildcard, found "contains"`},
		{`{"a":[{"anything-but":{"prefix":""}}]}`, `a[0].anything-but.prefix: expected a non-empty string, found ""`},
		{`{"a":[{"anything-but":{"suffix":["x",2]}}]}`, `a[0].anything-but.suffix[1]: expected a non-empty string, found number`},
		{`{"a":[{"anything-but":{"wildcard":["x**"]}}]}`, `a[0].anything-but.wildcard[0]: consecutive '*' characters are not allowed`},
		{`{"a":[{"anything-but":{"prefix":[]}}]}`, `a[0].anything-but.prefix: expected a string or a list of 1 to 256 strings`},
		{`{"$or":[{"a":[1]}]}`, `$or: expected an array of at least two pattern objects`},
		{`{"$or":{"a":[1]}}`, `$or: expected an array of at least two pattern objects`},
		{`{"$or":[{"a":[1]},"b"]}`, `$or[1]: expected a pattern object, found string`},
		{`{"x":{"$or":[{"a":[1]},{"b":[{"prefx":1}]}]}}`, `x.$or[1].b[0]: unknown operator "prefx"`},
		{thousand, ``},
		{tooMany, `$or expands to more than 1000 combinations; split the rule`},
		{deep, ``},
		{tooDeep, strings.Repeat("a.", MaxDepth)[:2*MaxDepth-1] + `: nesting is deeper than the maximum of 32 levels`},
		{manyValues, `a: 257 conditions; the maximum is 256`},
		{`{"a":"` + strings.Repeat("x", MaxPatternBytes) + `"}`, `pattern is 65544 bytes; the maximum is 65536`},
	}
	for _, tc := range tests {
		err := Validate([]byte(tc.pattern))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Validate(%.80s)\n got error %q\nwant error %q", tc.pattern, got, tc.want)
		}
	}
}

func TestValidateErrorType(t *testing.T) {
	err := Validate([]byte(`{"data":{"ref":[{"prefx":"a"}]}}`))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Validate error %T is not *Error", err)
	}
	if perr.Path != "data.ref[0]" {
		t.Errorf("Path = %q, want %q", perr.Path, "data.ref[0]")
	}
	if perr.Message != `unknown operator "prefx"` {
		t.Errorf("Message = %q, want %q", perr.Message, `unknown operator "prefx"`)
	}
}

func TestAddInvalidReturnsValidateError(t *testing.T) {
	b := NewBuilder()
	src := []byte(`{"a":[{"exists":1}]}`)
	err := b.Add("r", src)
	if err == nil || err.Error() != Validate(src).Error() {
		t.Errorf("Add error = %v, want %v", err, Validate(src))
	}
	if len(b.rules) != 0 {
		t.Errorf("builder has %d rules after a failed Add, want 0", len(b.rules))
	}
}
