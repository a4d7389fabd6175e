//go:build race

package pattern

// raceEnabled is true when the race detector is on. It makes sync.Pool
// drop items at random, so allocation counts do not hold.
const raceEnabled = true
