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

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/streams"
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
	natsURL          string
	server           string
	prefix           string
	tokenFile        string
	logFormat        string
	allowMetadata    bool
	concurrency      int
	destinationLimit int
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("switchyard-delivery", flag.ContinueOnError)
	fs.StringVar(&o.natsURL, "nats-url", envOr("NATS_URL", "nats://127.0.0.1:4222"),
		"NATS server URL (env NATS_URL)")
	fs.StringVar(&o.server, "server", envOr("SWITCHYARD_SERVER", "127.0.0.1:7701"),
		"config service gRPC address (env SWITCHYARD_SERVER)")
	fs.StringVar(&o.prefix, "prefix", os.Getenv("SWITCHYARD_PREFIX"),
		"topology prefix of streams, subjects and buckets (env SWITCHYARD_PREFIX)")
	fs.StringVar(&o.tokenFile, "internal-token-file", "",
		"file holding the internal token for the config resolver; "+
			"default is env SWITCHYARD_INTERNAL_TOKEN")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: json or text")
	fs.BoolVar(&o.allowMetadata, "allow-metadata-addresses", false,
		"let connections reach cloud metadata addresses such as 169.254.169.254")
	fs.IntVar(&o.concurrency, "concurrency", delivery.DefaultConcurrency,
		"HTTP calls in flight across all destinations")
	fs.IntVar(&o.destinationLimit, "destination-concurrency", delivery.DefaultDestinationConcurrency,
		"HTTP calls in flight to one destination whose max_concurrency is unset")
	if err := fs.Parse(args); err != nil {
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
	logger := newLogger(o.logFormat)

	token, err := internalToken(o.tokenFile)
	if err != nil {
		return err
	}
	cc, err := configclient.Dial(o.server, configclient.InternalToken(token))
	if err != nil {
		return err
	}
	defer cc.Close()

	nc, err := nats.Connect(o.natsURL, nats.Name("switchyard-delivery"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", o.natsURL, err)
	}
	defer nc.Close()

	svc, err := delivery.New(ctx, delivery.Config{
		NATS:                   nc,
		Topology:               streams.Topology{Prefix: o.prefix},
		Logger:                 logger,
		Resolver:               internalv1.NewResolverClient(cc),
		AllowMetadata:          o.allowMetadata,
		Version:                version,
		Concurrency:            o.concurrency,
		DestinationConcurrency: o.destinationLimit,
	})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
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

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
