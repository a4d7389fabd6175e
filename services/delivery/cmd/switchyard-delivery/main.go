// Command switchyard-delivery runs Switchyard's delivery service on its
// own: it consumes delivery tasks from NATS JetStream and calls their
// API destinations, resolving credentials through the config service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/natsconn"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	"github.com/switchyard-dev/switchyard/services/delivery"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchyard-delivery:", err)
		os.Exit(1)
	}
}

type options struct {
	replicas         int
	metricsListen    string
	natsURL          string
	server           string
	prefix           string
	tokenFile        string
	redisURL         string
	logFormat        string
	allowMetadata    bool
	concurrency      int
	destinationLimit int
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("switchyard-delivery", flag.ContinueOnError)
	fs.StringVar(&o.metricsListen, "metrics-listen",
		envOr("SWITCHYARD_METRICS_LISTEN", defaultMetricsListen),
		"address of /metrics, /healthz and /readyz (env SWITCHYARD_METRICS_LISTEN)")
	fs.StringVar(&o.natsURL, "nats-url", envOr("NATS_URL", "nats://127.0.0.1:4222"),
		"NATS server URL (env NATS_URL)")
	fs.StringVar(&o.server, "server", envOr("SWITCHYARD_SERVER", "127.0.0.1:7701"),
		"config service gRPC address (env SWITCHYARD_SERVER)")
	fs.StringVar(&o.prefix, "prefix", os.Getenv("SWITCHYARD_PREFIX"),
		"topology prefix of streams, subjects and buckets (env SWITCHYARD_PREFIX)")
	fs.StringVar(&o.tokenFile, "internal-token-file", "",
		"file holding the internal token for the config resolver; "+
			"default is env SWITCHYARD_INTERNAL_TOKEN")
	fs.StringVar(&o.redisURL, "redis-url", os.Getenv("REDIS_URL"),
		"Redis URL that replicas share caches through, such as redis://127.0.0.1:6379/0; "+
			"empty keeps caches in memory (env REDIS_URL)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: json or text")
	fs.BoolVar(&o.allowMetadata, "allow-metadata-addresses", false,
		"let connections reach cloud metadata addresses such as 169.254.169.254")
	fs.IntVar(&o.concurrency, "concurrency", delivery.DefaultConcurrency,
		"HTTP calls in flight across all destinations")
	fs.IntVar(&o.destinationLimit, "destination-concurrency", delivery.DefaultDestinationConcurrency,
		"HTTP calls in flight to one destination whose max_concurrency is unset")
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
		return o, fmt.Errorf("invalid --log-format %q: want json or text", o.logFormat)
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	logger, err := telemetry.NewLogger(os.Stderr, o.logFormat, slog.LevelInfo)
	if err != nil {
		return err
	}
	obs, err := telemetry.StartObservability(ctx, "switchyard-delivery", o.metricsListen, logger)
	if err != nil {
		return err
	}
	defer obs.Stop(logger)

	token, err := internalToken(o.tokenFile)
	if err != nil {
		return err
	}
	cc, err := configclient.Dial(o.server, configclient.InternalToken(token),
		telemetry.GRPCDialOption())
	if err != nil {
		return err
	}
	defer cc.Close()

	rdb, err := openRedis(o.redisURL)
	if err != nil {
		return err
	}
	if rdb != nil {
		defer rdb.Close()
		obs.Telemetry.AddReadinessCheck("delivery.redis", redisReady(rdb))
	}

	nc, err := natsconn.Connect(o.natsURL, "switchyard-delivery", logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	obs.Telemetry.AddReadinessCheck("delivery.nats", telemetry.NATSReady(nc))

	svc, err := delivery.New(ctx, delivery.Config{
		NATS:                   nc,
		Topology:               streams.Topology{Prefix: o.prefix},
		StreamOptions:          streams.Options{Replicas: o.replicas},
		Logger:                 logger,
		Resolver:               internalv1.NewResolverClient(cc),
		Redis:                  rdb,
		InternalToken:          token,
		AllowMetadata:          o.allowMetadata,
		Version:                version,
		Concurrency:            o.concurrency,
		DestinationConcurrency: o.destinationLimit,
		Telemetry:              obs.Telemetry,
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

// openRedis returns a client for url, or nil when url is empty. It does
// not connect: delivery works without Redis and warns while it is down.
func openRedis(url string) (*redis.Client, error) {
	if url == "" {
		return nil, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("invalid --redis-url: %w", err)
	}
	return redis.NewClient(opts), nil
}

// internalToken reads the token from file, or from the environment
// when file is empty. The token is required.
func internalToken(file string) (string, error) {
	if file == "" {
		if t := os.Getenv("SWITCHYARD_INTERNAL_TOKEN"); t != "" {
			return t, nil
		}
		return "", errors.New("missing internal token: set SWITCHYARD_INTERNAL_TOKEN " +
			"or --internal-token-file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read internal token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("internal token file %s is empty", file)
	}
	return t, nil
}

// defaultMetricsListen is the observability address of delivery.
const defaultMetricsListen = "127.0.0.1:7714"

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
