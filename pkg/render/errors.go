package render

import (
	"errors"
	"fmt"
)

// Sentinels that the errors of Request and ValidateTarget wrap, so that
// callers can tell a bad target from a bad event.
var (
	// ErrInvalidPath marks a JSON path outside the supported syntax.
	ErrInvalidPath = errors.New("invalid JSON path")

	// ErrInvalidEvent marks an event that is not a JSON object, found
	// while a path is looked up.
	ErrInvalidEvent = errors.New("event is not a JSON object")

	// ErrUnknownVariable marks a template placeholder that names neither
	// a variable of the template nor a built-in variable.
	ErrUnknownVariable = errors.New("unknown variable")

	// ErrInvalidVariable marks a variable name that a template cannot
	// refer to, or one that takes a built-in's name.
	ErrInvalidVariable = errors.New("invalid variable name")

	// ErrInvalidJSON marks a JSON body that is not valid JSON: a JSON
	// template that some variable value turns into invalid JSON, or a
	// constant body that is not JSON.
	ErrInvalidJSON = errors.New("not valid JSON")

	// ErrTooLarge marks a value, template or variable count above the
	// limits of this package.
	ErrTooLarge = errors.New("over the limit")

	// ErrInvalidHeaderValue marks a header value that contains a control
	// character, which HTTP cannot send.
	ErrInvalidHeaderValue = errors.New("invalid header value")

	// ErrInvalidPathValue marks a path value that cannot fill a URL
	// path segment: an empty one, ".", or "..".
	ErrInvalidPathValue = errors.New("invalid path value")
)

// FieldError is an error about one field of a target, named by its proto
// field path relative to the target, such as "input.template" or
// `headers["X-Ref"]`. It unwraps to one of the sentinels above.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErrorf returns a FieldError whose Err wraps a sentinel with %w.
func fieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}
