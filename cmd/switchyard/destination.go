package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// missingConnectionHint is the hint for a destination whose --connection
// does not exist.
const missingConnectionHint = "`switchyard connection list` shows the connections"

const destinationLong = `An API destination is an HTTP endpoint: a URL, a method and the
connection whose credentials sign each call. Path segments of the URL that
are "*" are filled per rule target with --path-value.

--timeout is the destination's HTTP call timeout (1s to 60s, default 5s);
the global --request-timeout bounds the CLI's own calls.`

// destinationFlags are the flags of destination create and update.
type destinationFlags struct {
	description    string
	url            string
	method         string
	connection     string
	timeout        time.Duration
	rateLimit      int32
	maxConcurrency int32
}

func newDestinationCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("destination", "Manage API destinations: endpoints that rules call")
	cmd.Long = destinationLong
	cmd.AddCommand(
		newDestinationCreateCommand(a),
		newDestinationGetCommand(a),
		newDestinationListCommand(a),
		newDestinationUpdateCommand(a),
		newDestinationDeleteCommand(a),
	)
	return cmd
}

func newDestinationCreateCommand(a *app) *cobra.Command {
	f := &destinationFlags{}
	cmd := &cobra.Command{
		Use:   "create NAME --url URL --connection CONNECTION [flags]",
		Short: "Create an API destination",
		Long:  destinationLong,
		Example: `  switchyard destination create jenkins-build --connection jenkins \
      --url 'http://127.0.0.1:8080/job/*/build' --method POST`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := &v1.ApiDestination{Name: args[0], Method: "POST"}
			if err := f.apply(cmd.Flags(), d); err != nil {
				return err
			}
			if d.Url == "" || d.Connection == "" {
				return usagef("destination create needs --url and --connection")
			}

			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			req := &v1.CreateApiDestinationRequest{ApiDestination: d}
			d, err = client.CreateApiDestination(ctx, req)
			if err != nil {
				return withFlags(withPreconditionHint(err, missingConnectionHint), destinationFieldFlag)
			}
			return a.printDestination(d)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newDestinationGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show an API destination",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			d, err := client.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.printDestination(d)
		},
	}
}

func newDestinationListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API destinations",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := client.ListApiDestinations(ctx, &v1.ListApiDestinationsRequest{})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printProto(resp)
			}

			t := newTable(a.out)
			t.row("NAME", "METHOD", "URL", "CONNECTION", "REVISION")
			for _, d := range resp.GetApiDestinations() {
				t.row(d.GetName(), d.GetMethod(), d.GetUrl(), d.GetConnection(), itoa(d.GetRevision()))
			}
			return t.flush()
		},
	}
}

// newDestinationUpdateCommand reads the destination, changes what the
// flags give and writes it back with the revision it read.
func newDestinationUpdateCommand(a *app) *cobra.Command {
	f := &destinationFlags{}
	cmd := &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change an API destination",
		Long:  destinationLong,
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !localFlagsChanged(cmd) {
				return usagef("nothing to update: give the flags to change")
			}
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			d, err := client.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: args[0]})
			if err != nil {
				return err
			}
			if err := f.apply(cmd.Flags(), d); err != nil {
				return err
			}
			req := &v1.UpdateApiDestinationRequest{ApiDestination: d}
			d, err = client.UpdateApiDestination(ctx, req)
			if err != nil {
				return withFlags(withPreconditionHint(err, missingConnectionHint), destinationFieldFlag)
			}
			return a.printDestination(d)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newDestinationDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an API destination that no rule uses",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			req := &v1.DeleteApiDestinationRequest{Name: args[0]}
			if _, err := client.DeleteApiDestination(ctx, req); err != nil {
				return withPreconditionHint(err, "`switchyard rule update RULE --bus BUS "+
					"--target DESTINATION...` gives a rule exactly the targets listed")
			}
			return a.printDeleted("destination", args[0])
		},
	}
}

func (f *destinationFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.description, "description", "", "what the destination is")
	fs.StringVar(&f.url, "url", "",
		`http or https URL; a path segment "*" is filled by a target's --path-value`)
	fs.StringVar(&f.method, "method", "POST",
		"HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
	fs.StringVar(&f.connection, "connection", "", "name of the connection that signs each call")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "HTTP call timeout, 1s to 60s")
	fs.Int32Var(&f.rateLimit, "rate-limit", 300,
		"calls per second at most, across all delivery replicas")
	fs.Int32Var(&f.maxConcurrency, "max-concurrency", 0,
		"calls in flight at most (0: the service default)")
}

// apply changes d as the given flags specify. Flags left out keep d's values.
func (f *destinationFlags) apply(fs *pflag.FlagSet, d *v1.ApiDestination) error {
	if fs.Changed("description") {
		d.Description = f.description
	}
	if fs.Changed("url") {
		d.Url = f.url
	}
	if fs.Changed("method") {
		d.Method = strings.ToUpper(f.method)
	}
	if fs.Changed("connection") {
		d.Connection = f.connection
	}
	if fs.Changed("timeout") {
		if f.timeout < time.Second || f.timeout > time.Minute {
			return usagef("invalid --timeout %s: want 1s to 60s", f.timeout)
		}
		d.Timeout = durationpb.New(f.timeout)
	}
	if fs.Changed("rate-limit") {
		if f.rateLimit <= 0 {
			return usagef("invalid --rate-limit %d: want a positive number of calls per second",
				f.rateLimit)
		}
		d.InvocationRateLimitPerSecond = f.rateLimit
	}
	if fs.Changed("max-concurrency") {
		if f.maxConcurrency < 0 {
			return usagef("invalid --max-concurrency %d: want 0 or more", f.maxConcurrency)
		}
		d.MaxConcurrency = f.maxConcurrency
	}
	return nil
}

func (a *app) printDestination(d *v1.ApiDestination) error {
	if a.jsonOutput() {
		return a.printProto(d)
	}

	t := newTable(a.out)
	t.field("name", d.GetName())
	t.field("description", orDash(d.GetDescription()))
	t.field("url", d.GetUrl())
	t.field("method", d.GetMethod())
	t.field("connection", d.GetConnection())
	t.field("timeout", orDefault(formatDuration(d.GetTimeout()), d.GetTimeout() == nil, "5s"))
	t.field("rate limit", orDefault(itoa(d.GetInvocationRateLimitPerSecond())+"/s",
		d.GetInvocationRateLimitPerSecond() == 0, "300/s"))
	t.field("max concurrency", orDefault(itoa(d.GetMaxConcurrency()),
		d.GetMaxConcurrency() == 0, "service default"))
	circuit := strings.TrimPrefix(d.GetCircuitState().String(), "CIRCUIT_STATE_")
	if d.GetCircuitState() == v1.CircuitState_CIRCUIT_STATE_UNSPECIFIED {
		// No delivery has reported a state yet, so calls go through.
		circuit = "CLOSED"
	}
	t.field("circuit", circuit)
	t.field("circuit reason", orDash(d.GetCircuitReason()))
	t.field("circuit changed", formatTime(d.GetCircuitChangeTime()))
	t.field("revision", itoa(d.GetRevision()))
	t.field("created", formatTime(d.GetCreateTime()))
	t.field("updated", formatTime(d.GetUpdateTime()))
	return t.flush()
}

// orDefault shows value, or the default in use when isDefault.
func orDefault(value string, isDefault bool, def string) string {
	if isDefault {
		return def + " (default)"
	}
	return value
}
