// Command switchyard-ruleengine runs Switchyard's rule engine on its own:
// it matches the events of every bus against their rules, which it reads
// from the config service, and publishes one delivery task per matched
// target.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/natsconn"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/ruleengine"
)

// defaultServer is the config service's default gRPC address.
const defaultServer = "127.0.0.1:7701"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchyard-ruleengine:", err)
		os.Exit(1)
	}
}

// options are the command-line flags, with defaults from the
// environment.
type options struct {
	replicas  int
	metrics   string
	natsURL   string
	server    string
	prefix    string
	batchSize int
	workers   int
	logFormat string
	logLevel  slog.Level
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("switchyard-ruleengine", flag.ContinueOnError)
	fs.StringVar(&o.metrics, "metrics-listen", envOr("SWITCHYARD_METRICS_LISTEN", defaultMetricsListen),
		"address of /metrics, /healthz and /readyz (env SWITCHYARD_METRICS_LISTEN)")
	fs.StringVar(&o.natsURL, "nats-url", envOr("NATS_URL", nats.DefaultURL),
		"NATS server URL (env NATS_URL)")
	fs.StringVar(&o.server, "server", envOr("SWITCHYARD_SERVER", defaultServer),
		"config service gRPC address (env SWITCHYARD_SERVER)")
	fs.StringVar(&o.prefix, "prefix", os.Getenv("SWITCHYARD_PREFIX"),
		"prefix of every stream, bucket and subject (env SWITCHYARD_PREFIX)")
	fs.IntVar(&o.batchSize, "batch-size", ruleengine.DefaultBatchSize,
		"events each worker handles together")
	fs.IntVar(&o.workers, "workers", ruleengine.DefaultWorkers,
		"batches handled at the same time")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: json or text")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
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
		return o, fmt.Errorf("--log-format %q: use json or text", o.logFormat)
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	logger, err := telemetry.NewLogger(os.Stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	obs, err := telemetry.StartObservability(ctx, "switchyard-ruleengine", o.metrics, logger)
	if err != nil {
		return err
	}
	defer obs.Stop(logger)

	nc, err := natsconn.Connect(o.natsURL, "switchyard-ruleengine", logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	obs.Telemetry.AddReadinessCheck("ruleengine.nats", telemetry.NATSReady(nc))

	conn, err := configclient.Dial(o.server, telemetry.GRPCDialOption())
	if err != nil {
		return err
	}
	defer conn.Close()

	svc, err := ruleengine.New(ctx, ruleengine.Config{
		NATS:      nc,
		Topology:  streams.Topology{Prefix: o.prefix},
		Streams:   streams.Options{Replicas: o.replicas},
		Logger:    logger,
		Rules:     ruleengine.ConfigServiceRules{Client: v1.NewConfigServiceClient(conn)},
		BatchSize: o.batchSize,
		Workers:   o.workers,
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

// defaultMetricsListen is the observability address of the rule engine.
const defaultMetricsListen = "127.0.0.1:7713"

func envOr(name, fallback string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return fallback
}
