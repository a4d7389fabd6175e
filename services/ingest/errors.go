package ingest

import (
	"errors"
	"net/http"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
)

// Error codes of rejected events and requests. They appear as
// error_code in HTTP responses and, with the message, in the reason
// header of messages on rejected.<bus>. Clients may branch on them, so
// their meaning is fixed.
const (
	// The codes of invalid events are those of package cloudevent,
	// whose checks the CLI shares; its documentation gives their meaning.
	CodeMalformedEvent   = cloudevent.CodeMalformedEvent
	CodeMissingAttribute = cloudevent.CodeMissingAttribute
	CodeInvalidAttribute = cloudevent.CodeInvalidAttribute
	CodeEventTooLarge    = cloudevent.CodeEventTooLarge
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
type failure = cloudevent.Error

func fail(code, format string, args ...any) *failure {
	return cloudevent.Errorf(code, format, args...)
}

// httpStatus is the status of a request that failed with f as a whole,
// or of a single-event request whose only entry failed with f.
func httpStatus(f *failure) int {
	switch f.Code {
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
func transient(f *failure) bool {
	return f.Code == CodeServiceUnavailable || f.Code == CodeInternalFailure
}
