// Package retry decides what happens after a delivery attempt: success,
// retry later, or fail for good. It holds the one classification table
// of the delivery service, the retry policy defaults and the backoff.
package retry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"

	"github.com/switchyard-dev/switchyard/services/delivery/netguard"
)

// Error codes of a failed attempt or a dead letter.
const (
	CodeTimeout             = "TIMEOUT"
	CodeConnectionError     = "CONNECTION_ERROR"
	CodeHTTP3xx             = "HTTP_3XX"
	CodeHTTP4xx             = "HTTP_4XX"
	CodeHTTP5xx             = "HTTP_5XX"
	CodeRetriesExhausted    = "RETRIES_EXHAUSTED"
	CodeMaxAgeExceeded      = "MAX_AGE_EXCEEDED"
	CodeNetworkRefused      = "NETWORK_REFUSED"
	CodeAuthFailed          = "AUTH_FAILED"
	CodeDestinationNotFound = "DESTINATION_NOT_FOUND"
	// CodeConfigError marks a destination or connection that cannot be
	// used as configured, such as an unsupported authorization.
	CodeConfigError = "CONFIG_ERROR"
	// CodeUnexpectedStatus marks a status code outside 200 to 599.
	CodeUnexpectedStatus = "UNEXPECTED_STATUS"
)

// Errors that a caller wraps so that Classify can tell them apart from
// transport errors.
var (
	// ErrDestinationNotFound means the destination or its connection does
	// not exist.
	ErrDestinationNotFound = errors.New("destination not found")
	// ErrConfig means the destination or connection cannot be used as
	// configured. Retrying does not help.
	ErrConfig = errors.New("invalid configuration")
	// ErrAuth means no credential could be obtained, such as when a
	// token endpoint rejects the client. A later attempt may succeed.
	ErrAuth = errors.New("authorization failed")
)

// Kind is the action to take on a delivery after an attempt.
type Kind int

const (
	// Success means the endpoint took the request.
	Success Kind = iota
	// Retry means the attempt failed in a way a later attempt may not.
	Retry
	// Fail means the delivery failed for good.
	Fail
)

func (k Kind) String() string {
	switch k {
	case Success:
		return "success"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Outcome is the classification of one attempt.
type Outcome struct {
	Kind Kind
	// Code is one of the Code constants; empty on success.
	Code string
	// Reason explains a failure in words, without secrets.
	Reason string
}

// jenkinsQueueItem matches the path of a Jenkins queue item, which
// Jenkins returns in Location when it merges a trigger into an item
// already queued.
var jenkinsQueueItem = regexp.MustCompile(`(^|/)queue/item/[0-9]+/?$`)

// Classify returns the outcome of an attempt that ended with status (0
// when no response came) or err, and the response's Location header.
// A non-nil err wins over status.
func Classify(status int, err error, location string) Outcome {
	if err != nil {
		return classifyError(err)
	}
	switch {
	case status >= 200 && status < 300:
		return Outcome{Kind: Success}
	case status == 303 && IsJenkinsQueueItem(location):
		return Outcome{Kind: Success}
	case status >= 300 && status < 400:
		reason := fmt.Sprintf("redirect %d to %q not followed", status, location)
		return Outcome{Kind: Fail, Code: CodeHTTP3xx, Reason: reason}
	case status == 401 || status == 407:
		reason := fmt.Sprintf("HTTP %d: credentials rejected", status)
		return Outcome{Kind: Retry, Code: CodeAuthFailed, Reason: reason}
	case status == 409 || status == 429:
		return Outcome{Kind: Retry, Code: CodeHTTP4xx, Reason: statusReason(status)}
	case status >= 400 && status < 500:
		return Outcome{Kind: Fail, Code: CodeHTTP4xx, Reason: statusReason(status)}
	case status >= 500 && status < 600:
		return Outcome{Kind: Retry, Code: CodeHTTP5xx, Reason: statusReason(status)}
	}
	reason := fmt.Sprintf("unexpected status code %d", status)
	return Outcome{Kind: Fail, Code: CodeUnexpectedStatus, Reason: reason}
}

func classifyError(err error) Outcome {
	reason := transportReason(err)
	switch {
	case errors.Is(err, netguard.ErrRejected):
		return Outcome{Kind: Fail, Code: CodeNetworkRefused, Reason: reason}
	case errors.Is(err, ErrDestinationNotFound):
		return Outcome{Kind: Fail, Code: CodeDestinationNotFound, Reason: reason}
	case errors.Is(err, ErrConfig):
		return Outcome{Kind: Fail, Code: CodeConfigError, Reason: reason}
	case errors.Is(err, ErrAuth):
		return Outcome{Kind: Retry, Code: CodeAuthFailed, Reason: reason}
	case isTimeout(err):
		return Outcome{Kind: Retry, Code: CodeTimeout, Reason: reason}
	}
	return Outcome{Kind: Retry, Code: CodeConnectionError, Reason: reason}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// transportReason drops the URL that net/http puts in its errors, since
// a query string may carry an API key.
func transportReason(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Op + ": " + urlErr.Err.Error()
	}
	return err.Error()
}

func statusReason(status int) string {
	return fmt.Sprintf("HTTP %d", status)
}

// IsJenkinsQueueItem reports whether location, an absolute or relative
// URL, names a Jenkins queue item such as /queue/item/5/.
func IsJenkinsQueueItem(location string) bool {
	u, err := url.Parse(location)
	if err != nil {
		return false
	}
	return jenkinsQueueItem.MatchString(u.Path)
}
