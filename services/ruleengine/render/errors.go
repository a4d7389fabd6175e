package render

import "errors"

var (
	// ErrInvalidPath is wrapped by the error for a JSON path that is not
	// "$" or "$." followed by non-empty dot-separated field names.
	ErrInvalidPath = errors.New("invalid JSON path")

	// ErrInvalidEvent is wrapped by the error for an event that is not a
	// JSON object, found while a path is looked up.
	ErrInvalidEvent = errors.New("event is not a JSON object")

	// ErrTemplateUnsupported is returned for a target whose input is a
	// template.
	ErrTemplateUnsupported = errors.New("input templates are not supported yet")
)
