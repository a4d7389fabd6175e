package ingest

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes of rejected events and requests. They appear as
// error_code in HTTP responses and, with the message, in the reason
// header of messages on rejected.<bus>. Clients may branch on them, so
// their meaning is fixed.
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
	// CodeEventTooLarge: the event, as stored JSON, exceeds
	// streams.MaxEventSize.
	CodeEventTooLarge = "EventTooLarge"
	// CodeTooManyEntries: a batch holds more than MaxBatchEntries events.
	CodeTooManyEntries = "TooManyEntries"
	// CodeRequestTooLarge: the request body exceeds MaxRequestSize.
	CodeRequestTooLarge = "RequestTooLarge"
	// CodeUnsupportedMediaType: the Content-Type selects no CloudEvents
	// mode and no ce-specversion header marks binary mode.
	CodeUnsupportedMediaType = "UnsupportedMediaType"
	// CodeInvalidBusName: the bus name is not a valid name.
	CodeInvalidBusName = "InvalidBusName"
	// CodeUnknownBus: the config service has no bus of that name.
	CodeUnknownBus = "UnknownBus"
	// CodeServiceUnavailable: the config service could not be asked
	// whether the bus exists. Retrying later may succeed.
	CodeServiceUnavailable = "ServiceUnavailable"
	// CodeInternalFailure: the event was valid but could not be stored.
	// A retry with the same source and id within the EVENTS duplicate
	// window (2 minutes) is stored at most once.
	CodeInternalFailure = "InternalFailure"
)

// errConfigUnavailable marks a bus lookup that failed for a reason other
// than the bus being unknown, so the caller retries instead of rejecting.
var errConfigUnavailable = errors.New("config service unavailable")

// failure is the reason one event or one request was not stored: a code
// from the list above and a message that names the value and the fix.
type failure struct {
	code    string
	message string
}

func (f *failure) Error() string { return f.code + ": " + f.message }

func fail(code, format string, args ...any) *failure {
	return &failure{code: code, message: fmt.Sprintf(format, args...)}
}

// httpStatus is the status of a request that failed with f as a whole,
// or of a single-event request whose only entry failed with f.
func (f *failure) httpStatus() int {
	switch f.code {
	case CodeRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case CodeUnknownBus:
		return http.StatusNotFound
	case CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	case CodeInternalFailure:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// transient reports whether the same message may succeed later, so a
// NATS message that failed with f is redelivered instead of rejected.
func (f *failure) transient() bool {
	return f.code == CodeServiceUnavailable || f.code == CodeInternalFailure
}
