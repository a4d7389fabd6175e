package config

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinels that classify the errors of the service's operations. Each
// error returned by an operation wraps at most one of them, and
// grpcError maps it to its gRPC status code.
var (
	// ErrInvalidArgument marks a request with a value that is invalid
	// as given, such as a malformed URL or name, or a destination URL
	// that the network of its connection cannot reach.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound marks a request for an object that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists marks a create of an object that exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrStaleRevision marks an update or delete whose revision differs
	// from the stored one.
	ErrStaleRevision = errors.New("stale revision")
	// ErrFailedPrecondition marks a request that the stored state
	// rejects: a missing reference, or a delete of an object in use.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnauthenticated marks a Resolver call without the internal
	// token.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// classError is an error of one class whose message is meant for the
// caller as is, without the class name in front.
type classError struct {
	class   error
	message string
}

func (e *classError) Error() string { return e.message }
func (e *classError) Unwrap() error { return e.class }

func classErrorf(class error, format string, args ...any) error {
	return &classError{class: class, message: fmt.Sprintf(format, args...)}
}

// fieldError is an ErrInvalidArgument error about one request field.
// The gRPC status carries it as a BadRequest field violation, so that a
// client such as the CLI can name its own flag for the field.
type fieldError struct {
	// field is the path of the field in the request message, such as
	// api_destination.url or rule.targets[0].headers.
	field string
	// description describes what is wrong in the words of the concept, such
	// as "the destination URL", never the field path, and how to fix it.
	description string
}

func (e *fieldError) Error() string { return e.field + ": " + e.description }
func (e *fieldError) Unwrap() error { return ErrInvalidArgument }

// invalidf returns an ErrInvalidArgument error about one request field.
// The formatted text is the description, which names the concept.
func invalidf(field, format string, args ...any) error {
	return &fieldError{field: field, description: fmt.Sprintf(format, args...)}
}

// codeOf chooses the gRPC code of an error returned by an operation.
func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, ErrInvalidArgument):
		return codes.InvalidArgument
	case errors.Is(err, ErrNotFound):
		return codes.NotFound
	case errors.Is(err, ErrAlreadyExists):
		return codes.AlreadyExists
	case errors.Is(err, ErrStaleRevision):
		return codes.Aborted
	case errors.Is(err, ErrFailedPrecondition):
		return codes.FailedPrecondition
	case errors.Is(err, ErrUnauthenticated):
		return codes.Unauthenticated
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	default:
		return codes.Internal
	}
}

// grpcError turns an operation's error into a gRPC status error. It is
// the one place where the service chooses status codes.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	st := status.New(codeOf(err), err.Error())
	var fe *fieldError
	if !errors.As(err, &fe) {
		return st.Err()
	}
	violation := &errdetails.BadRequest_FieldViolation{Field: fe.field, Description: fe.description}
	detailed, detailErr := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{violation},
	})
	if detailErr != nil {
		// Only a message that cannot be marshalled fails here, and
		// BadRequest always can; the status without details still
		// names the field in its message.
		return st.Err()
	}
	return detailed.Err()
}
