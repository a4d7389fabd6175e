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
	"github.com/switchyard-dev/switchyard/pkg/natsconn"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
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
	replicas  int
	listen    string
	metrics   string
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
	fs.StringVar(&o.metrics, "metrics-listen", env("SWITCHYARD_METRICS_LISTEN", defaultMetricsListen),
		"address of /metrics, /healthz and /readyz (env SWITCHYARD_METRICS_LISTEN)")
	fs.StringVar(&o.natsURL, "nats-url", env("NATS_URL", nats.DefaultURL),
		"NATS server URL (env NATS_URL)")
	fs.StringVar(&o.server, "server", env("SWITCHYARD_SERVER", "127.0.0.1:7701"),
		"config service gRPC address (env SWITCHYARD_SERVER)")
	fs.StringVar(&o.prefix, "prefix", env("SWITCHYARD_PREFIX", ""),
		"prefix of every stream, subject and bucket name (env SWITCHYARD_PREFIX)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: json or text")
	if err := streams.AddReplicasFlag(fs, &o.replicas); err != nil {
		return o, err
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := streams.CheckReplicas(o.replicas); err != nil {
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

// defaultMetricsListen is the observability address, beside the events
// API's 7700.
const defaultMetricsListen = "127.0.0.1:7712"

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := telemetry.NewLogger(os.Stderr, o.logFormat, slog.LevelInfo)
	if err != nil {
		return err
	}
	obs, err := telemetry.StartObservability(ctx, "switchyard-ingest", o.metrics, log)
	if err != nil {
		return err
	}
	defer obs.Stop(log)

	nc, err := natsconn.Connect(o.natsURL, "switchyard-ingest", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	obs.Telemetry.AddReadinessCheck("ingest.nats", telemetry.NATSReady(nc))

	cc, err := configclient.Dial(o.server, telemetry.GRPCDialOption())
	if err != nil {
		return err
	}
	defer cc.Close()

	svc, err := ingest.New(ctx, ingest.Config{
		NATS:      nc,
		Topology:  streams.Topology{Prefix: o.prefix},
		Streams:   streams.Options{Replicas: o.replicas},
		Logger:    log,
		Buses:     switchyardv1.NewConfigServiceClient(cc),
		Listen:    o.listen,
		Telemetry: obs.Telemetry,
	})
	if err != nil && ctx.Err() != nil {
		// A stop signal during start-up is a clean stop, not a failure.
		return nil
	}
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
