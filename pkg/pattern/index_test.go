package pattern

import (
	"fmt"
	"testing"
)

// candidateCount returns how many rules Match would evaluate for event.
func candidateCount(t *testing.T, m *Matcher, event []byte) int {
	t.Helper()
	st := m.newState()
	st.begin(event)
	if _, err := st.scanEvent(); err != nil {
		t.Fatal(err)
	}
	return len(st.candidates) + len(m.unindexed)
}

// TestIndexNarrowsCandidates checks that the number of rules evaluated
// for an event stays small as the number of rules grows, which the
// benchmarks rely on but cannot show reliably.
func TestIndexNarrowsCandidates(t *testing.T) {
	for _, set := range ruleSets {
		for _, n := range []int{100, 10000} {
			b := NewBuilder()
			for i := range n {
				if err := b.Add(fmt.Sprint(i), []byte(set.generate(&orderEvent, i, n))); err != nil {
					t.Fatal(err)
				}
			}
			m := b.Build()
			if len(m.unindexed) != 0 {
				t.Errorf("%s, %d rules: %d rules unindexed, want 0", set.name, n, len(m.unindexed))
			}
			// About 10 rules share the event's source, and one has its id.
			if got := candidateCount(t, m, orderEvent.json); got > 30 {
				t.Errorf("%s, %d rules: %d candidates, want at most 30", set.name, n, got)
			}
		}
	}
}

func TestIndexOperators(t *testing.T) {
	tests := []struct {
		pattern string
		indexed bool
	}{
		{`{"a":["x"]}`, true},
		{`{"a":[5, true, null]}`, true},
		{`{"a":[{"prefix":"x"}]}`, true},
		{`{"a":[{"suffix":"x"}]}`, true},
		{`{"a":[{"equals-ignore-case":"x"}]}`, true},
		{`{"a":[{"wildcard":"x*"}]}`, true},
		{`{"a":[{"wildcard":"*x"}]}`, true},
		{`{"a":[{"wildcard":"x"}]}`, true},
		{`{"a":[{"wildcard":"*x*"}]}`, false},
		{`{"a":["x",{"exists":false}]}`, false},
		{`{"a":[{"numeric":[">",1]}]}`, false},
		{`{"a":[{"numeric":[">",1]}],"b":["y"]}`, true},
		{`{"$or":[{"a":["x"]},{"b":[{"prefix":"y"}]}]}`, true},
		{`{"$or":[{"a":["x"]},{"b":[{"exists":true}]}]}`, false},
		{`{"a":{"b":{"c":["x"]}}}`, true},
	}
	for _, tc := range tests {
		m := buildOne(t, tc.pattern)
		if indexed := len(m.unindexed) == 0; indexed != tc.indexed {
			t.Errorf("pattern %s: indexed = %v, want %v", tc.pattern, indexed, tc.indexed)
		}
	}
}
