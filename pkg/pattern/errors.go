package pattern

import "errors"

// Limits on a pattern. Validate and Builder.Add reject a pattern that
// exceeds one of them.
const (
	// MaxPatternBytes is the maximum size of a pattern's JSON text.
	MaxPatternBytes = 64 << 10
	// MaxDepth is the maximum nesting depth of objects in a pattern,
	// counting the top-level object and each $or alternative as one level.
	MaxDepth = 32
	// MaxValuesPerField is the maximum number of conditions in one field's
	// array, and of values in one anything-but list.
	MaxValuesPerField = 256
	// MaxCombinations is the maximum number of alternatives that the $or
	// operators of one pattern expand to when multiplied out.
	MaxCombinations = 1000
)

// MaxEventDepth is the maximum nesting depth of objects and arrays in an
// event given to Match.
const MaxEventDepth = 512

// ErrInvalidEvent is wrapped by the error that Match returns for an event
// that is not a well-formed JSON object.
var ErrInvalidEvent = errors.New("invalid event")

// Error is the error for an invalid pattern. Path is the JSON path of the
// problem, such as "data.ref[0]", or empty for the pattern as a whole.
type Error struct {
	Path    string
	Message string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

func errorAt(path, message string) *Error {
	return &Error{Path: path, Message: message}
}
