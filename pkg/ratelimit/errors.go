package ratelimit

import "errors"

// ErrInvalidRate is returned for a rate below one per second. Callers
// map a destination's unset rate to its default before calling.
var ErrInvalidRate = errors.New("ratelimit: rate must be at least 1 per second")
