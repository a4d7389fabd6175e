package pattern

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// matchCase is a pattern with events it must match and events it must not.
type matchCase struct {
	name    string
	pattern string
	match   []string
	noMatch []string
}

var matchCases = []matchCase{
	{
		name:    "exact string",
		pattern: `{"source":["orders"]}`,
		match:   []string{`{"source":"orders"}`, `{"source":"orders","type":"x"}`},
		noMatch: []string{`{"source":"Orders"}`, `{"type":"orders"}`, `{}`, `{"source":null}`},
	},
	{
		name:    "fields are ANDed and values ORed",
		pattern: `{"source":["a","b"],"type":["t"]}`,
		match:   []string{`{"source":"a","type":"t"}`, `{"source":"b","type":"t"}`},
		noMatch: []string{`{"source":"a"}`, `{"source":"c","type":"t"}`, `{"type":"t"}`},
	},
	{
		name:    "nested field",
		pattern: `{"data":{"ref":["refs/heads/main"]}}`,
		match:   []string{`{"data":{"ref":"refs/heads/main","x":1}}`},
		noMatch: []string{`{"data":{"ref":"refs/heads/dev"}}`, `{"ref":"refs/heads/main"}`,
			`{"data":"refs/heads/main"}`, `{"data":{"ref":{"x":"refs/heads/main"}}}`},
	},
	{
		name:    "empty string and null differ",
		pattern: `{"a":[""]}`,
		match:   []string{`{"a":""}`},
		noMatch: []string{`{"a":null}`, `{}`},
	},
	{
		name:    "null",
		pattern: `{"a":[null]}`,
		match:   []string{`{"a":null}`, `{"a":[1,null]}`},
		noMatch: []string{`{"a":""}`, `{}`, `{"a":"null"}`},
	},
	{
		name:    "booleans",
		pattern: `{"a":[true],"b":[false]}`,
		match:   []string{`{"a":true,"b":false}`},
		noMatch: []string{`{"a":"true","b":false}`, `{"a":true,"b":true}`, `{"a":1,"b":false}`},
	},
	{
		name:    "numbers compare by value",
		pattern: `{"n":[5]}`,
		match:   []string{`{"n":5}`, `{"n":5.0}`, `{"n":5e0}`, `{"n":0.5e1}`, `{"n":500e-2}`},
		noMatch: []string{`{"n":"5"}`, `{"n":5.1}`, `{"n":50}`, `{"n":-5}`},
	},
	{
		name:    "number zero and large exponents",
		pattern: `{"n":[0, 1e300, 12345678901234567891]}`,
		match:   []string{`{"n":-0}`, `{"n":0.000}`, `{"n":10e299}`, `{"n":12345678901234567891.0}`},
		noMatch: []string{`{"n":12345678901234567890}`, `{"n":1e-300}`},
	},
	{
		name:    "string with escapes",
		pattern: `{"s":["é\n\"x\""]}`,
		match:   []string{`{"s":"\u00e9\n\"x\""}`, `{"s":"é\u000a\"x\""}`},
		noMatch: []string{`{"s":"e\n\"x\""}`},
	},
	{
		name:    "key with escapes",
		pattern: `{"a/b":["x"]}`,
		match:   []string{`{"a\/b":"x"}`, `{"a\u002fb":"x"}`},
		noMatch: []string{`{"ab":"x"}`},
	},
	{
		name:    "array in event matches any element",
		pattern: `{"tags":["blue"]}`,
		match:   []string{`{"tags":["red","blue"]}`, `{"tags":[["blue"]]}`},
		noMatch: []string{`{"tags":["red"]}`, `{"tags":[]}`, `{"tags":[{"x":"blue"}]}`},
	},
	{
		name:    "array of objects does not combine elements",
		pattern: `{"items":{"sku":["a"],"qty":[2]}}`,
		match:   []string{`{"items":[{"sku":"b","qty":2},{"sku":"a","qty":2}]}`},
		noMatch: []string{`{"items":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`},
	},
	{
		name:    "nested arrays of objects",
		pattern: `{"a":{"b":{"c":[1],"d":[2]}}}`,
		match:   []string{`{"a":[{"b":[{"c":1},{"c":1,"d":2}]}]}`, `{"a":[[{"b":{"c":1,"d":2}}]]}`},
		noMatch: []string{`{"a":[{"b":[{"c":1},{"d":2}]}]}`, `{"a":[{"b":{"c":1}},{"b":{"d":2}}]}`},
	},
	{
		name:    "duplicate event key uses the last",
		pattern: `{"a":["x"]}`,
		match:   []string{`{"a":"y","a":"x"}`},
		noMatch: []string{`{"a":"x","a":"y"}`},
	},
	{
		name:    "prefix",
		pattern: `{"ref":[{"prefix":"refs/heads/"}]}`,
		match:   []string{`{"ref":"refs/heads/main"}`, `{"ref":"refs/heads/"}`, `{"ref":["x","refs/heads/a"]}`},
		noMatch: []string{`{"ref":"refs/tags/v1"}`, `{"ref":"Refs/heads/main"}`, `{}`},
	},
	{
		name:    "prefix on a number does not match",
		pattern: `{"n":[{"prefix":"1"}]}`,
		match:   []string{`{"n":"12"}`},
		noMatch: []string{`{"n":12}`, `{"n":true}`},
	},
	{
		name:    "prefix ignoring case",
		pattern: `{"s":[{"prefix":{"equals-ignore-case":"ÄbC"}}]}`,
		match:   []string{`{"s":"äBcdef"}`, `{"s":"ÄBC"}`},
		noMatch: []string{`{"s":"abc"}`, `{"s":"äB"}`, `{"s":"xäbc"}`},
	},
	{
		name:    "suffix",
		pattern: `{"file":[{"suffix":".png"}]}`,
		match:   []string{`{"file":"a.png"}`, `{"file":".png"}`},
		noMatch: []string{`{"file":"a.PNG"}`, `{"file":"png"}`},
	},
	{
		name:    "suffix ignoring case",
		pattern: `{"file":[{"suffix":{"equals-ignore-case":".PNG"}}]}`,
		match:   []string{`{"file":"a.png"}`, `{"file":"b.PnG"}`},
		noMatch: []string{`{"file":"a.jpg"}`, `{"file":"png"}`},
	},
	{
		name:    "equals-ignore-case uses Unicode folding",
		pattern: `{"s":[{"equals-ignore-case":"straße ΣΑΣ"}]}`,
		match:   []string{`{"s":"STRAßE σας"}`, `{"s":"straße σαΣ"}`},
		noMatch: []string{`{"s":"strasse σας"}`, `{"s":"straße"}`},
	},
	{
		name:    "equals-ignore-case folds the Kelvin sign",
		pattern: `{"s":[{"equals-ignore-case":"k"}]}`,
		match:   []string{`{"s":"K"}`, `{"s":"\u212a"}`},
		noMatch: []string{`{"s":"kk"}`},
	},
	{
		name:    "wildcard",
		pattern: `{"s":[{"wildcard":"dev-*.example.*"}]}`,
		match:   []string{`{"s":"dev-1.example.com"}`, `{"s":"dev-.example."}`},
		noMatch: []string{`{"s":"dev-1.example"}`, `{"s":"prod-1.example.com"}`, `{"s":5}`},
	},
	{
		name:    "wildcard escapes",
		pattern: `{"s":[{"wildcard":"a\\*b\\\\*"}]}`,
		match:   []string{`{"s":"a*b\\"}`, `{"s":"a*b\\cd"}`},
		noMatch: []string{`{"s":"axb\\"}`, `{"s":"a*b"}`},
	},
	{
		name:    "wildcard without a star is exact",
		pattern: `{"s":[{"wildcard":"abc"}]}`,
		match:   []string{`{"s":"abc"}`},
		noMatch: []string{`{"s":"abcd"}`},
	},
	{
		name:    "wildcard with overlapping segments",
		pattern: `{"s":[{"wildcard":"ab*ba"}]}`,
		match:   []string{`{"s":"abba"}`, `{"s":"abxba"}`},
		noMatch: []string{`{"s":"aba"}`},
	},
	{
		name:    "contains",
		pattern: `{"msg":[{"contains":"error"}]}`,
		match:   []string{`{"msg":"an error here"}`, `{"msg":"error"}`},
		noMatch: []string{`{"msg":"Error"}`, `{"msg":"err"}`},
	},
	{
		name:    "anything-but string",
		pattern: `{"state":[{"anything-but":"ok"}]}`,
		match:   []string{`{"state":"failed"}`, `{"state":5}`, `{"state":null}`, `{"state":["ok","x"]}`},
		noMatch: []string{`{"state":"ok"}`, `{}`, `{"state":["ok"]}`, `{"state":{}}`},
	},
	{
		name:    "anything-but number",
		pattern: `{"code":[{"anything-but":200}]}`,
		match:   []string{`{"code":404}`, `{"code":"200"}`},
		noMatch: []string{`{"code":200}`, `{"code":2e2}`},
	},
	{
		name:    "anything-but list of strings",
		pattern: `{"state":[{"anything-but":["ok","done"]}]}`,
		match:   []string{`{"state":"failed"}`},
		noMatch: []string{`{"state":"ok"}`, `{"state":"done"}`, `{}`},
	},
	{
		name:    "anything-but list of numbers",
		pattern: `{"n":[{"anything-but":[1,2.0]}]}`,
		match:   []string{`{"n":3}`},
		noMatch: []string{`{"n":1.0}`, `{"n":2}`},
	},
	{
		name:    "anything-but prefix",
		pattern: `{"s":[{"anything-but":{"prefix":"test-"}}]}`,
		match:   []string{`{"s":"prod-1"}`, `{"s":7}`},
		noMatch: []string{`{"s":"test-1"}`, `{}`},
	},
	{
		name:    "anything-but prefix list",
		pattern: `{"s":[{"anything-but":{"prefix":["a","b"]}}]}`,
		match:   []string{`{"s":"c"}`},
		noMatch: []string{`{"s":"ax"}`, `{"s":"bx"}`},
	},
	{
		name:    "anything-but suffix",
		pattern: `{"s":[{"anything-but":{"suffix":[".tmp",".bak"]}}]}`,
		match:   []string{`{"s":"a.txt"}`},
		noMatch: []string{`{"s":"a.tmp"}`, `{"s":"a.bak"}`},
	},
	{
		name:    "anything-but equals-ignore-case",
		pattern: `{"s":[{"anything-but":{"equals-ignore-case":["ok","DONE"]}}]}`,
		match:   []string{`{"s":"failed"}`},
		noMatch: []string{`{"s":"OK"}`, `{"s":"done"}`},
	},
	{
		name:    "anything-but wildcard",
		pattern: `{"s":[{"anything-but":{"wildcard":"*.internal"}}]}`,
		match:   []string{`{"s":"a.example"}`},
		noMatch: []string{`{"s":"a.internal"}`},
	},
	{
		name:    "numeric range",
		pattern: `{"n":[{"numeric":[">",0,"<=",5]}]}`,
		match:   []string{`{"n":5}`, `{"n":0.1}`, `{"n":5e0}`, `{"n":[-1,3]}`},
		noMatch: []string{`{"n":0}`, `{"n":5.01}`, `{"n":"3"}`, `{}`},
	},
	{
		name:    "numeric equals",
		pattern: `{"n":[{"numeric":["=",3]}]}`,
		match:   []string{`{"n":3}`, `{"n":3.0}`, `{"n":30e-1}`},
		noMatch: []string{`{"n":3.5}`, `{"n":"3"}`},
	},
	{
		name:    "numeric one bound",
		pattern: `{"n":[{"numeric":["<",-1.5]}]}`,
		match:   []string{`{"n":-2}`, `{"n":-1e9}`},
		noMatch: []string{`{"n":-1.5}`, `{"n":0}`},
	},
	{
		name:    "numeric bounds in either order",
		pattern: `{"n":[{"numeric":["<",10,">=",10e-1]}]}`,
		match:   []string{`{"n":1}`, `{"n":9.99}`},
		noMatch: []string{`{"n":10}`, `{"n":0.99}`},
	},
	{
		name:    "cidr IPv4",
		pattern: `{"ip":[{"cidr":"10.0.0.0/24"}]}`,
		match:   []string{`{"ip":"10.0.0.1"}`, `{"ip":"10.0.0.255"}`},
		noMatch: []string{`{"ip":"10.0.1.1"}`, `{"ip":"not an ip"}`, `{"ip":"::ffff:10.0.0.1"}`, `{"ip":10}`},
	},
	{
		name:    "cidr IPv6",
		pattern: `{"ip":[{"cidr":"2001:db8::/32"}]}`,
		match:   []string{`{"ip":"2001:db8::1"}`, `{"ip":"2001:DB8:ffff::"}`},
		noMatch: []string{`{"ip":"2001:db9::1"}`, `{"ip":"10.0.0.1"}`},
	},
	{
		name:    "exists true",
		pattern: `{"a":{"b":[{"exists":true}]}}`,
		match:   []string{`{"a":{"b":1}}`, `{"a":{"b":null}}`, `{"a":{"b":[""]}}`},
		noMatch: []string{`{"a":{"c":1}}`, `{"a":{"b":{"c":1}}}`, `{"a":{"b":[]}}`, `{}`},
	},
	{
		name:    "exists false",
		pattern: `{"a":{"b":[{"exists":false}]}}`,
		match:   []string{`{}`, `{"a":1}`, `{"a":{"c":1}}`, `{"a":{"b":{"c":1}}}`, `{"a":{"b":[]}}`, `{"a":[]}`},
		noMatch: []string{`{"a":{"b":1}}`, `{"a":{"b":null}}`, `{"a":{"b":[1]}}`},
	},
	{
		name:    "exists false or a value",
		pattern: `{"a":[{"exists":false},"x"]}`,
		match:   []string{`{}`, `{"a":"x"}`},
		noMatch: []string{`{"a":"y"}`},
	},
	{
		name:    "exists false in an array of objects",
		pattern: `{"items":{"tag":[{"exists":false}]}}`,
		match:   []string{`{"items":[{"tag":1},{"sku":2}]}`},
		noMatch: []string{`{"items":[{"tag":1},{"tag":2}]}`},
	},
	{
		name:    "or at the top level",
		pattern: `{"source":["s"],"$or":[{"a":["1"]},{"b":[{"numeric":[">",2]}]}]}`,
		match:   []string{`{"source":"s","a":"1"}`, `{"source":"s","b":3}`},
		noMatch: []string{`{"source":"s","a":"2","b":1}`, `{"a":"1"}`},
	},
	{
		name:    "or nested",
		pattern: `{"data":{"$or":[{"x":[1]},{"y":[2]},{"z":{"$or":[{"p":[3]},{"q":[4]}]}}]}}`,
		match:   []string{`{"data":{"x":1}}`, `{"data":{"y":2}}`, `{"data":{"z":{"q":4}}}`},
		noMatch: []string{`{"data":{"x":2}}`, `{"data":{"z":{"r":4}}}`, `{"x":1}`},
	},
	{
		name:    "or sees the same array element",
		pattern: `{"items":{"sku":["a"],"$or":[{"qty":[1]},{"qty":[2]}]}}`,
		match:   []string{`{"items":[{"sku":"a","qty":2}]}`},
		noMatch: []string{`{"items":[{"sku":"a","qty":3},{"sku":"b","qty":2}]}`},
	},
	{
		name:    "two ors are ANDed by nesting",
		pattern: `{"$or":[{"a":[1]},{"b":[1]}],"c":{"$or":[{"d":[1]},{"e":[1]}]}}`,
		match:   []string{`{"a":1,"c":{"e":1}}`},
		noMatch: []string{`{"a":1,"c":{"f":1}}`, `{"c":{"d":1}}`},
	},
	{
		name:    "CloudEvent with data",
		pattern: `{"type":["com.github.push"],"data":{"repository":{"name":["hello-world"]}}}`,
		match: []string{`{"specversion":"1.0","id":"1","source":"s","type":"com.github.push",` +
			`"data":{"repository":{"name":"hello-world"}}}`},
		noMatch: []string{`{"specversion":"1.0","id":"1","source":"s","type":"com.github.push",` +
			`"data":{"repository":{"name":"other"}}}`},
	},
}

func TestMatchesCases(t *testing.T) {
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, event := range tc.match {
				got, err := Matches([]byte(tc.pattern), []byte(event))
				if err != nil || !got {
					t.Errorf("Matches(%s, %s) = %v, %v; want true", tc.pattern, event, got, err)
				}
			}
			for _, event := range tc.noMatch {
				got, err := Matches([]byte(tc.pattern), []byte(event))
				if err != nil || got {
					t.Errorf("Matches(%s, %s) = %v, %v; want false", tc.pattern, event, got, err)
				}
			}
		})
	}
}

// TestMatcherAllCases files every case pattern in one Matcher, so that
// the index and trie of many rules are exercised together.
func TestMatcherAllCases(t *testing.T) {
	b := NewBuilder()
	for _, tc := range matchCases {
		if err := b.Add(tc.name, []byte(tc.pattern)); err != nil {
			t.Fatalf("Add(%q) = %v", tc.name, err)
		}
	}
	m := b.Build()
	for _, tc := range matchCases {
		for _, event := range tc.match {
			ids, err := m.Match([]byte(event), nil)
			if err != nil || !slices.Contains(ids, tc.name) {
				t.Errorf("%s: Match(%s) = %q, %v; want it to contain the case", tc.name, event, ids, err)
			}
		}
		for _, event := range tc.noMatch {
			ids, err := m.Match([]byte(event), nil)
			if err != nil || slices.Contains(ids, tc.name) {
				t.Errorf("%s: Match(%s) = %q, %v; want it not to contain the case", tc.name, event, ids, err)
			}
		}
	}
}

func TestMatchIDsOnceInAddOrder(t *testing.T) {
	b := NewBuilder()
	for _, r := range []struct{ id, pattern string }{
		{"r4", `{"a":[2]}`},
		{"r2", `{"a":[1]}`},
		{"r1", `{"b":[{"prefix":"x"}]}`},
		{"r2", `{"b":["xy"]}`},
		{"r3", `{"c":[1]}`},
		{"r4", `{"b":[{"suffix":"y"}]}`},
	} {
		if err := b.Add(r.id, []byte(r.pattern)); err != nil {
			t.Fatal(err)
		}
	}
	m := b.Build()
	got, err := m.Match([]byte(`{"a":1,"b":"xy"}`), []string{"kept"})
	want := []string{"kept", "r2", "r1", "r4"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Match = %q, %v; want %q", got, err, want)
	}
}

func TestBuilderReuse(t *testing.T) {
	b := NewBuilder()
	if err := b.Add("a", []byte(`{"x":[1]}`)); err != nil {
		t.Fatal(err)
	}
	first := b.Build()
	if err := b.Add("b", []byte(`{"x":[{"numeric":[">",0]}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("bad", []byte(`{"x":[]}`)); err == nil {
		t.Fatal("Add of an invalid pattern succeeded")
	}
	second := b.Build()
	event := []byte(`{"x":1}`)
	if got, _ := first.Match(event, nil); !slices.Equal(got, []string{"a"}) {
		t.Errorf("first Matcher = %q, want [a]", got)
	}
	if got, _ := second.Match(event, nil); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("second Matcher = %q, want [a b]", got)
	}
}

func TestEmptyMatcher(t *testing.T) {
	m := NewBuilder().Build()
	got, err := m.Match([]byte(`{"a":1}`), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("Match = %q, %v; want no ids", got, err)
	}
}

func TestMatchInvalidEvent(t *testing.T) {
	m := buildOne(t, `{"a":["x"]}`)
	for _, event := range []string{
		``, `[]`, `"a"`, `{`, `{"a":}`, `{"a":"x",}`, `{"a":"x"} {}`, `{"a":01}`,
		`{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"b":[1,]}`, `{"b":{"c":tru}}`, `{"a":1.}`,
		`{"a":-}`, `{"a":1e}`, `{a:1}`, `{"a" 1}`, `{"a":"x"`, `{"b":"\u12"}`,
		strings.Repeat(`{"b":`, MaxEventDepth+1) + "1" + strings.Repeat("}", MaxEventDepth+1),
	} {
		_, err := m.Match([]byte(event), nil)
		if !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Match(%q) error = %v, want ErrInvalidEvent", event, err)
		}
	}
}

func buildOne(t testing.TB, pattern string) *Matcher {
	t.Helper()
	b := NewBuilder()
	if err := b.Add("rule", []byte(pattern)); err != nil {
		t.Fatalf("Add(%s) = %v", pattern, err)
	}
	return b.Build()
}
