// Command switchyard-ingest runs the ingest service on its own: it takes
// events over HTTP and from the INGRESS stream and stores them in
// EVENTS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	switchyardv1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/ingest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchyard-ingest:", err)
		os.Exit(1)
	}
}

type options struct {
	listen    string
	natsURL   string
	server    string
	prefix    string
	logFormat string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("switchyard-ingest", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", env("SWITCHYARD_INGEST_LISTEN", ingest.DefaultListen),
		"HTTP address to serve the events API on (env SWITCHYARD_INGEST_LISTEN)")
	fs.StringVar(&o.natsURL, "nats-url", env("NATS_URL", nats.DefaultURL),
		"NATS server URL (env NATS_URL)")
	fs.StringVar(&o.server, "server", env("SWITCHYARD_SERVER", "127.0.0.1:7701"),
		"config service gRPC address (env SWITCHYARD_SERVER)")
	fs.StringVar(&o.prefix, "prefix", env("SWITCHYARD_PREFIX", ""),
		"prefix of every stream, subject and bucket name (env SWITCHYARD_PREFIX)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: json or text")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.logFormat != "json" && o.logFormat != "text" {
		return o, fmt.Errorf("--log-format is %q; use json or text", o.logFormat)
	}
	return o, nil
}

// env returns the variable's value, or fallback when it is unset or empty.
func env(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(o.logFormat)

	nc, err := nats.Connect(o.natsURL, nats.Name("switchyard-ingest"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", o.natsURL, err)
	}
	defer nc.Close()

	cc, err := configclient.Dial(o.server)
	if err != nil {
		return err
	}
	defer cc.Close()

	svc, err := ingest.New(ctx, ingest.Config{
		NATS:     nc,
		Topology: streams.Topology{Prefix: o.prefix},
		Logger:   log,
		Buses:    switchyardv1.NewConfigServiceClient(cc),
		Listen:   o.listen,
	})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
