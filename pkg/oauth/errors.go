package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// ErrInvalidConfig is returned by Token for client credentials that
// cannot make a token request, such as a missing token URL.
var ErrInvalidConfig = errors.New("oauth: invalid client credentials")

// TokenError is returned by Token when the token endpoint could not be
// reached or did not return a token. Its message never contains the
// client secret, a token, a parameter value or the response body,
// because callers log it and record it as the connection's state.
type TokenError struct {
	// StatusCode is the HTTP status of the token response, or 0 when no
	// response arrived.
	StatusCode int
	// ErrorCode is the OAuth 2.0 "error" field of the response, such as
	// invalid_client, when the server sent a well-formed one.
	ErrorCode string
	// Err is the network error when no response arrived, else nil.
	Err error

	// problem describes what was wrong with a 2xx response.
	problem string
}

func (e *TokenError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("token request failed: %v", e.Err)
	}
	msg := fmt.Sprintf("token request failed: status %d", e.StatusCode)
	if e.ErrorCode != "" {
		msg += ", error " + e.ErrorCode
	}
	if e.problem != "" {
		msg += ": " + e.problem
	}
	return msg
}

func (e *TokenError) Unwrap() error { return e.Err }

// Retryable reports whether a later attempt may succeed without a
// configuration change: no response at all, 408, 429 or a 5xx status.
func (e *TokenError) Retryable() bool {
	switch {
	case e.StatusCode == 0:
		return true
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests:
		return true
	default:
		return e.StatusCode >= 500
	}
}

// errorCodePattern matches the OAuth 2.0 error codes that a TokenError
// may repeat. RFC 6749 allows more characters, but real codes are
// short snake-case words, and anything else could be a reflected value.
var errorCodePattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// safeErrorCode returns code if it looks like an OAuth error code, so
// that a server cannot get arbitrary text into our logs through it.
func safeErrorCode(code string) string {
	if errorCodePattern.MatchString(code) {
		return code
	}
	return ""
}
