package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes of the switchyard command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a wrong command line or invalid input, such as a
// malformed NAME=VALUE or a file that is not JSON. It exits with status 2.
// With help set, the message points to the command's help.
type usageError struct {
	err  error
	help bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{err: fmt.Errorf(format, args...)}
}

// exitCode ends a command with the status it contains and no message, for
// commands whose result is the status itself, such as `pattern test`.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// hintError is a failure with advice on what to do about it.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

// report prints err to stderr with a hint where one helps and returns
// the exit status for it. An InvalidArgument status of the config
// service is invalid input, so it exits with 2 like the CLI's own
// checks, and each field violation names the flag to fix.
func (a *app) report(cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}

	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}

	var usage usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(a.err, "error: %v\n", err)
		if usage.help && cmd != nil {
			fmt.Fprintf(a.err, "run '%s --help' for usage\n", cmd.CommandPath())
		}
		return exitUsage
	}

	if lines := invalidArgument(err); len(lines) > 0 {
		for _, line := range lines {
			fmt.Fprintf(a.err, "error: %s\n", line)
		}
		return exitUsage
	}
	// A status that wraps another error takes the wrapper's text as its
	// message, so the status itself is described.
	var request requestError
	if errors.As(err, &request) {
		err = request.err
	}

	msg, hint := a.describe(err, listedNoun(cmd))
	fmt.Fprintf(a.err, "error: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(a.err, "hint: %s\n", hint)
	}
	if status.Code(err) == codes.InvalidArgument {
		return exitUsage
	}
	return exitFailure
}

// describe returns the message and hint for a failure.
func (a *app) describe(err error, noun string) (msg, hint string) {
	var h hintError
	if errors.As(err, &h) {
		return err.Error(), h.hint
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted", ""
	}

	st, ok := status.FromError(err)
	if !ok {
		return err.Error(), ""
	}
	return st.Message(), a.statusHint(st.Code(), noun)
}

// listedNoun returns the noun that cmd works on, such as "dlq" for
// `switchyard dlq show`, when the noun has a list command, and "" when it
// has none or cmd is nil.
func listedNoun(cmd *cobra.Command) string {
	if cmd == nil || cmd.Parent() == nil || !cmd.Parent().HasParent() {
		return ""
	}
	for _, sub := range cmd.Parent().Commands() {
		if sub.Name() == "list" {
			return cmd.Parent().Name()
		}
	}
	return ""
}

// notFoundHint names the list command of noun, or list commands in
// general when noun is "".
func notFoundHint(noun string) string {
	switch noun {
	case "":
		return "check the name; `list` shows what exists"
	case "dlq":
		return "`switchyard dlq list` shows the dead letters and their ids"
	case "rule":
		return "check the name and --bus; `switchyard rule list --bus BUS` shows the rules of a bus"
	}
	return fmt.Sprintf("check the name; `switchyard %s list` shows what exists", noun)
}

// statusHint is the advice for a gRPC status code of the config service,
// about an object of kind noun, which may be "".
func (a *app) statusHint(code codes.Code, noun string) string {
	switch code {
	case codes.NotFound:
		return notFoundHint(noun)
	case codes.AlreadyExists:
		return "it exists already; use update to change it"
	case codes.FailedPrecondition:
		// The code covers both a missing object and one that others still
		// use, so each command attaches its own hint (withPreconditionHint),
		// and the service's message, which names the fix, is shown alone.
		return ""
	case codes.InvalidArgument:
		return "fix the value named in the message; --help lists the flags"
	case codes.Aborted:
		return "someone changed it since it was read; get it again and retry"
	case codes.Unavailable:
		return fmt.Sprintf("is `switchyard dev` running? --server is %s", a.server)
	case codes.DeadlineExceeded:
		// Config also times out while its NATS servers do not respond,
		// so the address is only one of the causes.
		return fmt.Sprintf("no response within --request-timeout %s; check that --server %s "+
			"is right and that the config service and its NATS servers are up", a.timeout, a.server)
	case codes.Unauthenticated, codes.PermissionDenied:
		return "the config service rejected the caller's credentials"
	default:
		return ""
	}
}

// withPreconditionHint attaches hint to a FailedPrecondition status of
// the config service and returns other errors unchanged. An empty hint
// leaves the service's message without one.
func withPreconditionHint(err error, hint string) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.FailedPrecondition || hint == "" {
		return err
	}
	return hintError{err: errors.New(st.Message()), hint: hint}
}
