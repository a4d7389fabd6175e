package delivery

import "testing"

func TestWaitingShare(t *testing.T) {
	s := &scheduler{maxWaiting: 100, maxWaitingTotal: 2000, destinations: map[string]*destinationQueue{}}
	for _, c := range []struct {
		destinations int
		want         int
	}{
		{0, 2000},
		{1, 2000},
		{4, 500},
		{20, 100},
		{50, 100},
	} {
		clear(s.destinations)
		for i := range c.destinations {
			s.destinations[string(rune('a'+i))] = &destinationQueue{}
		}
		if got := s.waitingShare(); got != c.want {
			t.Errorf("%d destinations: share %d, want %d", c.destinations, got, c.want)
		}
	}
}
