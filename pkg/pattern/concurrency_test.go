package pattern

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestMatchNoMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped: the race detector makes sync.Pool drop its items, so Match allocates")
	}
	b := NewBuilder()
	for _, set := range ruleSets {
		for i := range 1000 {
			if err := b.Add(fmt.Sprint(i), []byte(set.generate(&orderEvent, i, 1000))); err != nil {
				t.Fatal(err)
			}
		}
		// Rules without any exact value run for every event.
		if err := b.Add(set.name, []byte(`{"data":{"clientIp":[{"cidr":"10.0.0.0/8"}]}}`)); err != nil {
			t.Fatal(err)
		}
	}
	m := b.Build()
	event := []byte(`{"source":"https://example.com/none","type":"x","data":{"customer":{"id":"c\u00e9"},` +
		`"total":12.5e1,"clientIp":"2001:db8::1","items":[{"a":1},[true,null]]}}`)
	dst := make([]string, 0, 8)
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if dst, err = m.Match(event, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Match of an event that matches nothing made %v allocations, want 0", allocs)
	}
	if len(dst) != 0 {
		t.Errorf("Match = %q, want no ids", dst)
	}
}

// TestMatchConcurrent matches from many goroutines at once; run it with
// -race to check that a Matcher is safe for concurrent use.
func TestMatchConcurrent(t *testing.T) {
	b := NewBuilder()
	for _, tc := range matchCases {
		if err := b.Add(tc.name, []byte(tc.pattern)); err != nil {
			t.Fatal(err)
		}
	}
	m := b.Build()
	var events [][]byte
	var want [][]string
	for _, tc := range matchCases {
		for _, event := range append(tc.match, tc.noMatch...) {
			ids, err := m.Match([]byte(event), nil)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, []byte(event))
			want = append(want, ids)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 20 {
				i := (g*31 + round*7) % len(events)
				for j := range events {
					k := (i + j) % len(events)
					got, err := m.Match(events[k], nil)
					if err != nil || !slices.Equal(got, want[k]) {
						t.Errorf("Match(%s) = %q, %v; want %q", events[k], got, err, want[k])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
