// Package cloudevent checks and completes CloudEvents 1.0 events the way
// ingest stores them: it parses the structured JSON format, rejects
// what the CloudEvents SDK would mishandle, fills a missing id and time
// and bounds the stored size. The functions are pure, so the CLI can
// preview an event exactly as ingest would store it.
package cloudevent

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Error codes of rejected events. Ingest sends them as error_code in
// HTTP responses and in the reason header of rejected NATS messages.
// Clients may branch on them, so their meaning is fixed.
const (
	// CodeMalformedEvent: the body or an entry is not valid JSON, not a
	// JSON object, or not a CloudEvent the parser can read.
	CodeMalformedEvent = "MalformedEvent"
	// CodeMissingAttribute: a required attribute (specversion, source,
	// type) is absent or empty.
	CodeMissingAttribute = "MissingAttribute"
	// CodeInvalidAttribute: an attribute is present with a value the
	// CloudEvents 1.0 specification does not allow.
	CodeInvalidAttribute = "InvalidAttribute"
	// CodeEventTooLarge: the event, as stored JSON, exceeds MaxEventSize.
	CodeEventTooLarge = "EventTooLarge"
)

// Error is the reason an event or a request was rejected: a code and a
// message that names the value and the fix.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidTime is the error for a time that is not RFC 3339, in the
// attribute or header that what names.
func InvalidTime(what, value string) *Error {
	return Errorf(CodeInvalidAttribute,
		"%s is %q, not an RFC 3339 timestamp; send one such as "+
			`"2026-12-04T10:00:00Z", or leave it out to have the receive time filled in`,
		what, value)
}

// InvalidSpecVersion is the error for a specversion other than 1.0.
func InvalidSpecVersion(version string) *Error {
	return Errorf(CodeInvalidAttribute,
		`attribute "specversion" is %q, but only "1.0" is accepted`, version)
}

func missingSource() *Error {
	return Errorf(CodeMissingAttribute,
		`the event has no "source" attribute (ce-source in binary mode); `+
			`set it to a URI-reference naming the producer, such as "/ci/jenkins"`)
}

func missingType() *Error {
	return Errorf(CodeMissingAttribute,
		`the event has no "type" attribute (ce-type in binary mode); `+
			`set it to the kind of event, such as "com.example.build.finished"`)
}

// ParseSafely runs an SDK parse and turns a panic into an error: the
// parser reads untrusted input, and one request must not stop the
// service.
func ParseSafely(parse func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser failed: %v", r)
		}
	}()
	return parse()
}

// SDKError describes an error of the CloudEvents SDK as an Error with
// code, prefixed by what. A validation error names each attribute, so
// it is an InvalidAttribute whatever the code is.
func SDKError(code, what string, err error) *Error {
	var invalid event.ValidationError
	if errors.As(err, &invalid) {
		return Errorf(CodeInvalidAttribute, "%s: %s", what, describeValidation(invalid))
	}
	return Errorf(code, "%s: %v", what, err)
}

func describeValidation(invalid event.ValidationError) string {
	names := make([]string, 0, len(invalid))
	for name := range invalid {
		names = append(names, name)
	}
	slices.Sort(names)

	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("attribute %q: %v", name, invalid[name])
	}
	return strings.Join(parts, "; ")
}
