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
	// Label, when set, names the field as the user wrote it, such as
	// `path value 1 ($.data.ref)`, and the message starts with it in
	// place of Field.
	Label string
	Err   error
}

// Error returns the message. An ErrInvalidPathValue message continues
// the sentence that Label starts (`... is empty`), so it follows a
// space; other messages follow a colon.
func (e *FieldError) Error() string {
	switch {
	case e.Label == "":
		return e.Field + ": " + e.Err.Error()
	case errors.Is(e.Err, ErrInvalidPathValue):
		return e.Label + " " + e.Err.Error()
	}
	return e.Label + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// fieldErrorf returns a FieldError whose Err wraps a sentinel with %w.
func fieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// pathValueError returns err, an error about the path value at index i
// whose JSON path or constant is spec, as a FieldError labelled with the
// path value's position counted from 1, as users count them.
func pathValueError(i int, spec string, err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		err = fe.Err
	}
	return &FieldError{
		Field: fmt.Sprintf("path_values[%d]", i),
		Label: pathValueLabel(i, spec),
		Err:   err,
	}
}

func pathValueLabel(i int, spec string) string {
	if isPath(spec) {
		return fmt.Sprintf("path value %d (%s)", i+1, spec)
	}
	return fmt.Sprintf("path value %d (constant %q)", i+1, spec)
}
