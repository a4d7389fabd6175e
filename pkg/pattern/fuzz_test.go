package pattern

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReferenceCases checks the reference matcher itself against the
// table, so that a disagreement found by fuzzing points at the Matcher.
func TestReferenceCases(t *testing.T) {
	for _, tc := range matchCases {
		for _, event := range tc.match {
			if got, err := referenceMatch([]byte(tc.pattern), []byte(event)); err != nil || !got {
				t.Errorf("%s: referenceMatch(%s) = %v, %v; want true", tc.name, event, got, err)
			}
		}
		for _, event := range tc.noMatch {
			if got, err := referenceMatch([]byte(tc.pattern), []byte(event)); err != nil || got {
				t.Errorf("%s: referenceMatch(%s) = %v, %v; want false", tc.name, event, got, err)
			}
		}
	}
}

// TestMatchGeneratedAgainstReference runs the differential check on a
// fixed set of generated rule sets, so that plain go test covers it.
func TestMatchGeneratedAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 256)
	for range 3000 {
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		checkGenerated(t, data)
	}
}

func FuzzMatchGenerated(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("differential seed with some bytes to spend on choices"))
	f.Add([]byte{255, 0, 255, 0, 7, 7, 7, 1, 2, 3, 200, 100, 50})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkGenerated(t, data)
	})
}

// checkGenerated builds up to five generated patterns into one Matcher
// and checks each against the reference on one generated event.
func checkGenerated(t *testing.T, data []byte) {
	g := &generator{data: data}
	patterns := make([]string, 1+g.intn(5))
	b := NewBuilder()
	for i := range patterns {
		patterns[i] = g.pattern()
		if err := b.Add(strconv.Itoa(i), []byte(patterns[i])); err != nil {
			t.Fatalf("Add(%s) = %v", patterns[i], err)
		}
	}
	event := g.event()
	ids, err := b.Build().Match([]byte(event), nil)
	if err != nil {
		t.Fatalf("Match(%s) = %v", event, err)
	}
	for i, p := range patterns {
		want, err := referenceMatch([]byte(p), []byte(event))
		if err != nil {
			t.Fatalf("referenceMatch(%s, %s) = %v", p, event, err)
		}
		got := slices.Contains(ids, strconv.Itoa(i))
		if got != want {
			t.Fatalf("pattern %s, event %s: Matcher = %v, reference = %v", p, event, got, want)
		}
	}
}

// FuzzMatchText mutates the JSON text of the table's patterns and events.
// Whenever the pattern is valid, Match must agree with the reference on
// the result and on whether the event is valid JSON.
func FuzzMatchText(f *testing.F) {
	for _, tc := range matchCases {
		for _, event := range append(tc.match, tc.noMatch...) {
			f.Add(tc.pattern, event)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, event string) {
		if hugeExponent.MatchString(pattern+" "+event) || Validate([]byte(pattern)) != nil {
			return
		}
		got, err := Matches([]byte(pattern), []byte(event))
		want, referenceErr := referenceMatch([]byte(pattern), []byte(event))
		if errors.Is(err, ErrInvalidEvent) && strings.Contains(err.Error(), "too deep") {
			return
		}
		if (err != nil) != (referenceErr != nil) {
			t.Fatalf("pattern %s, event %q: error %v, reference error %v", pattern, event, err, referenceErr)
		}
		if got != want {
			t.Fatalf("pattern %s, event %q: Matcher = %v, reference = %v", pattern, event, got, want)
		}
	})
}

// hugeExponent finds numbers too large for the reference's exact
// arithmetic to handle quickly.
var hugeExponent = regexp.MustCompile(`[eE][-+]?0*[0-9]{4}|[0-9]{400}`)

// FuzzValidate checks that parsing any input neither panics nor hangs, and
// that every valid pattern can be compiled and matched.
func FuzzValidate(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.pattern)
	}
	f.Add(`{"a":[{"numeric":[">",0,"<=",5]}],"$or":[{"b":[1]},{"c":[{"wildcard":"x*\\*"}]}]}`)
	f.Fuzz(func(t *testing.T, pattern string) {
		err := Validate([]byte(pattern))
		if err == nil {
			for _, event := range []string{`{}`, `{"a":1,"b":"x","c":[null,{"d":true}]}`} {
				if _, err := Matches([]byte(pattern), []byte(event)); err != nil {
					t.Fatalf("Matches(%s, %s) = %v", pattern, event, err)
				}
			}
			return
		}
		var perr *Error
		if !errors.As(err, &perr) || perr.Message == "" {
			t.Fatalf("Validate(%q) error %v is not an *Error with a message", pattern, err)
		}
	})
}

// generator derives patterns and events from fuzz bytes, choosing from
// small sets of keys and values so that patterns often match.
type generator struct {
	data []byte
	pos  int
}

func (g *generator) intn(n int) int {
	if g.pos >= len(g.data) {
		return 0
	}
	g.pos++
	return int(g.data[g.pos-1]) % n
}

func (g *generator) pick(options []string) string {
	return options[g.intn(len(options))]
}

var (
	genKeys    = []string{"a", "b", "c"}
	genStrings = []string{`""`, `"x"`, `"X"`, `"xy"`, `"ab"`, `"a*b"`, `"10.0.0.1"`,
		`"2001:db8::1"`, `"é"`, `"É"`, `"straße"`, `"k"`, `"\u212a"`, `"1"`}
	genNumbers = []string{`0`, `-0`, `1`, `1.0`, `1e0`, `10e-1`, `2`, `2.5`, `-3`, `1e3`, `1000`}
	genLiteral = []string{`true`, `false`, `null`}
	genAffixes = []string{`"x"`, `"a"`, `"b"`, `"É"`, `"K"`, `""`, `"10."`}
	genGlobs   = []string{`"x*"`, `"*b"`, `"a*b"`, `"*"`, `"a\\*b"`, `"*y*"`, `"ab"`}
	genBounds  = []string{`-3`, `0`, `1`, `2.5`, `1000`} // in ascending order
	genCIDRs   = []string{`"10.0.0.0/8"`, `"2001:db8::/32"`, `"10.0.0.1/32"`}
)

func (g *generator) scalar() string {
	switch g.intn(4) {
	case 0, 1:
		return g.pick(genStrings)
	case 2:
		return g.pick(genNumbers)
	}
	return g.pick(genLiteral)
}

func (g *generator) event() string {
	return g.object(0)
}

func (g *generator) object(depth int) string {
	var members []string
	for _, key := range genKeys {
		if g.intn(3) > 0 {
			members = append(members, `"`+key+`":`+g.value(depth+1))
		}
	}
	return "{" + strings.Join(members, ",") + "}"
}

func (g *generator) value(depth int) string {
	switch choice := g.intn(8); {
	case choice < 4 || depth > 2:
		return g.scalar()
	case choice < 6:
		return g.object(depth)
	}
	elements := make([]string, g.intn(4))
	for i := range elements {
		elements[i] = g.value(depth + 1)
	}
	return "[" + strings.Join(elements, ",") + "]"
}

func (g *generator) pattern() string {
	return g.patternObject(0)
}

func (g *generator) patternObject(depth int) string {
	var members []string
	for _, key := range genKeys {
		if g.intn(3) == 0 {
			continue
		}
		if depth < 2 && g.intn(4) == 0 {
			members = append(members, `"`+key+`":`+g.patternObject(depth+1))
		} else {
			members = append(members, `"`+key+`":`+g.leaf())
		}
	}
	if depth < 2 && g.intn(5) == 0 {
		alternatives := []string{g.patternObject(depth + 1), g.patternObject(depth + 1)}
		members = append(members, `"$or":[`+strings.Join(alternatives, ",")+`]`)
	}
	if len(members) == 0 {
		members = append(members, `"a":`+g.leaf())
	}
	return "{" + strings.Join(members, ",") + "}"
}

func (g *generator) leaf() string {
	conditions := make([]string, 1+g.intn(3))
	for i := range conditions {
		conditions[i] = g.condition()
	}
	return "[" + strings.Join(conditions, ",") + "]"
}

func (g *generator) condition() string {
	switch g.intn(16) {
	case 0, 1, 2, 3:
		return g.scalar()
	case 4:
		return `{"prefix":` + g.affix() + `}`
	case 5:
		return `{"suffix":` + g.affix() + `}`
	case 6:
		return `{"equals-ignore-case":` + g.pick(genStrings) + `}`
	case 7:
		return `{"contains":` + g.pick(genAffixes) + `}`
	case 8:
		return `{"wildcard":` + g.pick(genGlobs) + `}`
	case 9, 10:
		return `{"anything-but":` + g.anythingBut() + `}`
	case 11:
		return g.numeric()
	case 12:
		return `{"cidr":` + g.pick(genCIDRs) + `}`
	case 13:
		return `{"exists":true}`
	}
	return `{"exists":false}`
}

func (g *generator) affix() string {
	if g.intn(2) == 0 {
		return g.pick(genAffixes)
	}
	return `{"equals-ignore-case":` + g.pick(genAffixes) + `}`
}

func (g *generator) numeric() string {
	i, j := g.intn(len(genBounds)), g.intn(len(genBounds))
	lower, upper := genBounds[min(i, j)], genBounds[max(i, j)]
	switch g.intn(3) {
	case 0:
		return `{"numeric":["=",` + lower + `]}`
	case 1:
		return `{"numeric":[` + g.pick([]string{`"<"`, `"<="`, `">"`, `">="`}) + `,` + lower + `]}`
	}
	return `{"numeric":[">=",` + lower + `,"<=",` + upper + `]}`
}

func (g *generator) anythingBut() string {
	nonEmpty := []string{`"x"`, `"a"`, `"b"`, `"É"`, `"K"`, `"10."`}
	switch g.intn(6) {
	case 0:
		return g.pick(genStrings)
	case 1:
		return g.pick(genNumbers)
	case 2:
		return "[" + g.pick(genStrings) + "," + g.pick(genStrings) + "]"
	case 3:
		return "[" + g.pick(genNumbers) + "," + g.pick(genNumbers) + "]"
	case 4:
		op := g.pick([]string{"prefix", "suffix", "equals-ignore-case"})
		return `{"` + op + `":[` + g.pick(nonEmpty) + `,` + g.pick(nonEmpty) + `]}`
	}
	return `{"wildcard":` + g.pick(genGlobs) + `}`
}
