// Command switchyard-config runs Switchyard's configuration service on
// its own: the gRPC API for buses, connections, API destinations and
// rules, stored in JetStream.
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
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/natsconn"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	"github.com/switchyard-dev/switchyard/services/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchyard-config:", err)
		os.Exit(1)
	}
}

// options are the command-line flags, with defaults from the
// environment.
type options struct {
	replicas          int
	listen            string
	metricsListen     string
	natsURL           string
	prefix            string
	secretKeyFile     string
	oldSecretKeyFiles []string
	rotateSecrets     bool
	internalTokenFile string
	eventsMaxAge      time.Duration
	recordTTL         time.Duration
	logFormat         string
	logLevel          slog.Level
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("switchyard-config", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", envOr("SWITCHYARD_CONFIG_LISTEN", config.DefaultListen),
		"gRPC listen address (env SWITCHYARD_CONFIG_LISTEN)")
	fs.StringVar(&o.metricsListen, "metrics-listen",
		envOr("SWITCHYARD_METRICS_LISTEN", defaultMetricsListen),
		"address of /metrics, /healthz and /readyz (env SWITCHYARD_METRICS_LISTEN)")
	fs.StringVar(&o.natsURL, "nats-url", envOr("NATS_URL", nats.DefaultURL),
		"NATS server URL (env NATS_URL)")
	fs.StringVar(&o.prefix, "prefix", os.Getenv("SWITCHYARD_PREFIX"),
		"prefix of every stream, bucket and subject (env SWITCHYARD_PREFIX)")
	fs.StringVar(&o.secretKeyFile, "secret-key-file", "",
		"file holding the base64 of the 32-byte secret key; env "+config.EnvSecretKey+" wins")
	fs.Func("old-secret-key-file",
		"file holding an older secret key that still decrypts stored secrets; repeatable",
		func(v string) error {
			o.oldSecretKeyFiles = append(o.oldSecretKeyFiles, v)
			return nil
		})
	fs.BoolVar(&o.rotateSecrets, "rotate-secrets", false,
		"re-encrypt every stored secret under the current key at start")
	fs.StringVar(&o.internalTokenFile, "internal-token-file", "",
		"file holding the token that Resolver callers present; env "+config.EnvInternalToken+" wins")
	// The other services only create missing streams, so this value
	// holds whatever options they start with.
	fs.DurationVar(&o.recordTTL, "delivery-record-ttl", 7*24*time.Hour,
		"how long deliveries get can show a delivery after its last change, such as 48h")
	fs.DurationVar(&o.eventsMaxAge, "events-max-age", 7*24*time.Hour,
		"how long the EVENTS stream keeps events for replay, such as 72h")
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
	if o.recordTTL < time.Minute {
		return o, fmt.Errorf("--delivery-record-ttl %s: use at least 1m", o.recordTTL)
	}
	if o.eventsMaxAge < streams.MinEventsMaxAge {
		return o, fmt.Errorf("--events-max-age %s: use at least %s, the streams' duplicate window",
			o.eventsMaxAge, streams.MinEventsMaxAge)
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
	keys, token, err := loadCredentials(o)
	if err != nil {
		return err
	}
	obs, err := telemetry.StartObservability(ctx, "switchyard-config", o.metricsListen, logger)
	if err != nil {
		return err
	}
	defer obs.Stop(logger)

	nc, err := natsconn.Connect(o.natsURL, "switchyard-config", logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	obs.Telemetry.AddReadinessCheck("config.nats", telemetry.NATSReady(nc))

	svc, err := config.New(ctx, config.Config{
		NATS:          nc,
		Topology:      streams.Topology{Prefix: o.prefix},
		Logger:        logger,
		Listen:        o.listen,
		SecretKeys:    keys,
		InternalToken: token,
		StreamOptions: streams.Options{
			Replicas:          o.replicas,
			EventsMaxAge:      o.eventsMaxAge,
			DeliveryRecordTTL: o.recordTTL,
		},
	})
	if err != nil {
		return err
	}
	if o.rotateSecrets {
		if _, err := svc.RotateSecrets(ctx); err != nil {
			return err
		}
	}
	return svc.Run(ctx)
}

// loadCredentials loads the secret keys and the internal token, and
// names every way to give each one that is missing.
func loadCredentials(o options) ([][]byte, string, error) {
	var errs []error
	envKey := os.Getenv(config.EnvSecretKey)
	if envKey == "" && o.secretKeyFile == "" {
		errs = append(errs, fmt.Errorf("no secret key: set %s to the base64 of 32 random bytes "+
			"or pass --secret-key-file", config.EnvSecretKey))
	}
	envToken := os.Getenv(config.EnvInternalToken)
	if envToken == "" && o.internalTokenFile == "" {
		errs = append(errs, fmt.Errorf("no internal token: set %s or pass --internal-token-file",
			config.EnvInternalToken))
	}
	if len(errs) > 0 {
		return nil, "", errors.Join(errs...)
	}

	key, err := config.LoadKey(envKey, o.secretKeyFile, false)
	if err != nil {
		return nil, "", err
	}
	keys := [][]byte{key}
	for _, file := range o.oldSecretKeyFiles {
		old, err := config.LoadKey("", file, false)
		if err != nil {
			return nil, "", fmt.Errorf("--old-secret-key-file: %w", err)
		}
		keys = append(keys, old)
	}
	token, err := config.LoadToken(envToken, o.internalTokenFile, false)
	if err != nil {
		return nil, "", err
	}
	return keys, token, nil
}

// defaultMetricsListen is the observability address of config, beside
// its gRPC API on 7701.
const defaultMetricsListen = "127.0.0.1:7711"

func envOr(name, fallback string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return fallback
}
