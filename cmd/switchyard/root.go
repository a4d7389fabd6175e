package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Defaults of the global flags; the environment variables named beside
// each flag override them.
const (
	defaultServer    = defaultConfigListen
	defaultIngestURL = "http://" + defaultIngestListen
	defaultTimeout   = 10 * time.Second
)

// streams are the standard streams and environment a command runs with,
// so tests can run commands in-process.
type streams struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string
}

func osStreams() streams {
	return streams{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv}
}

// app is the state shared by every command of one run: the global flag
// values, the streams and the lazily dialed config client.
type app struct {
	streams

	server    string
	ingestURL string
	output    string
	timeout   time.Duration

	conn      *grpc.ClientConn
	stdinRead bool
}

// newApp returns the state of one run. Standard error is escaped from
// the start, since error messages repeat stored data and input.
func newApp(s streams) *app {
	s.err = escapingWriter{s.err}
	return &app{streams: s}
}

// newRootCommand builds the command tree. Subcommands are registered in
// addCommands, in the order help lists them.
func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "switchyard",
		Short: "Route CloudEvents from buses to HTTP endpoints",
		Long: "switchyard manages buses, connections, API destinations and rules,\n" +
			"puts events on a bus and shows what happened to their deliveries.\n\n" +
			"Exit codes: 0 success, 1 failure (including input that a service\n" +
			"rejects), 2 usage error or input rejected before any call.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              cobra.ArbitraryArgs,
		RunE:              runGroup,
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.checkGlobals() },
	}

	flags := root.PersistentFlags()
	flags.StringVar(&a.server, "server", a.envOr("SWITCHYARD_SERVER", defaultServer),
		"config service gRPC address, host:port (env SWITCHYARD_SERVER)")
	flags.StringVar(&a.ingestURL, "ingest-url", a.envOr("SWITCHYARD_INGEST_URL", defaultIngestURL),
		"ingest service base URL, http or https (env SWITCHYARD_INGEST_URL)")
	flags.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	flags.DurationVar(&a.timeout, "request-timeout", defaultTimeout,
		"time limit of each call to a service")

	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.err)
	root.SetFlagErrorFunc(flagError)
	addCommands(root, a)
	return root
}

func addCommands(root *cobra.Command, a *app) {
	root.AddCommand(
		newBusCommand(a),
		newConnectionCommand(a),
		newDestinationCommand(a),
		newRuleCommand(a),
		newEventsCommand(a),
		newDeliveriesCommand(a),
		newDLQCommand(a),
		newPatternCommand(a),
		newVersionCommand(a),
		newDevCommand(a),
		newBenchCommand(a),
	)
}

// newGroupCommand returns a command that only groups subcommands.
func newGroupCommand(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: runGroup}
}

// runGroup prints help for a command that groups subcommands, and rejects
// an argument that names none of them, which cobra would otherwise handle
// with help and exit status 0.
func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}

	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	// Cobra sets this default only on its own unknown-command path.
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{err: errors.New(msg), help: true}
}

// secretFlags are flags that do not exist because they would take a
// secret as their value, with the flags to use instead.
var secretFlags = map[string]string{
	"--password":      "--password-env VAR or --password-stdin",
	"--api-key":       "--api-key-env VAR or --api-key-stdin",
	"--client-secret": "--client-secret-env VAR or --client-secret-stdin",
}

// flagError turns a flag parse error into a usage error, with advice when
// the flag tried to pass a secret on the command line.
func flagError(_ *cobra.Command, err error) error {
	for flag, instead := range secretFlags {
		if strings.HasSuffix(err.Error(), "unknown flag: "+flag) {
			err = fmt.Errorf("%w: a secret is never taken from a flag value; use %s", err, instead)
			return usageError{err: err, help: true}
		}
	}
	return usageError{err: err, help: true}
}

func (a *app) envOr(name, fallback string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return fallback
}

func (a *app) checkGlobals() error {
	if a.output != "text" && a.output != "json" {
		return usagef("invalid --output %q: want text or json", a.output)
	}
	if a.timeout <= 0 {
		return usagef("invalid --request-timeout %s: want a positive duration such as 10s", a.timeout)
	}
	if !a.jsonOutput() {
		a.out = escapingWriter{a.out}
	}
	return nil
}

// configClient dials the config service on first use. The connection is
// made lazily, so a stopped server shows up as Unavailable on the call.
func (a *app) configClient() (v1.ConfigServiceClient, error) {
	if a.conn == nil {
		if err := checkServer(a.server); err != nil {
			return nil, err
		}
		conn, err := configclient.Dial(a.server)
		if err != nil {
			return nil, usagef("invalid --server %q: %v", a.server, err)
		}
		a.conn = conn
	}
	return v1.NewConfigServiceClient(a.conn), nil
}

// checkServer rejects a --server value that is not host:port, which
// gRPC would otherwise resolve as a name and fail on only at the call.
func checkServer(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && host != "" && validPort(port) {
		return nil
	}
	return usagef("invalid --server %q (env SWITCHYARD_SERVER): want the config service's "+
		"host:port, such as %s", addr, defaultServer)
}

// checkIngestURL rejects an --ingest-url value that is not an http or
// https URL with a host.
func checkIngestURL(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	return usagef("invalid --ingest-url %q (env SWITCHYARD_INGEST_URL): want an http or https "+
		"URL with a host, such as %s", raw, defaultIngestURL)
}

// validPort reports whether text is a TCP port number from 1 to 65535.
func validPort(text string) bool {
	port, err := strconv.Atoi(text)
	return err == nil && port >= 1 && port <= 65535
}

func (a *app) close() {
	if a.conn != nil {
		a.conn.Close()
	}
}

// callContext bounds one exchange with a service by --request-timeout.
func (a *app) callContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), a.timeout)
}

// printDeleted reports a deletion: "{}" in JSON, a sentence in text.
func (a *app) printDeleted(kind, name string) error {
	if a.jsonOutput() {
		return a.printProto(&v1.DeleteResponse{})
	}
	_, err := fmt.Fprintf(a.out, "deleted %s %s\n", kind, name)
	return err
}
