package main

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
)

const devLong = `dev runs the four services (config, ingest, rule engine, delivery) in
one process, on an embedded NATS JetStream server that stores under
--data-dir. With NATS_URL set it uses that server instead.

The services talk to each other exactly as the separate binaries do: over
NATS and over the config service's gRPC API. The secret key that encrypts
stored credentials and the internal token that guards the credential
resolver are created on first start as files with mode 0600 in the data
folder, unless SWITCHYARD_SECRET_KEY or SWITCHYARD_INTERNAL_TOKEN is set.`

// Default listen addresses of switchyard dev, which the CLI's --server
// and --ingest-url defaults point at.
const (
	defaultNATSListen    = "127.0.0.1:7722"
	defaultConfigListen  = "127.0.0.1:7701"
	defaultIngestListen  = "127.0.0.1:7700"
	defaultMetricsListen = "127.0.0.1:7710"
)

// devFlags are the flags of switchyard dev.
type devFlags struct {
	dataDir       string
	natsListen    string
	configListen  string
	ingestListen  string
	metricsListen string
	prefix        string
	replicas      int
	eventsMaxAge  time.Duration
	recordTTL     time.Duration
	logFormat     string
	logLevel      string
}

func newDevCommand(a *app) *cobra.Command {
	f := &devFlags{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run every service in one process on an embedded NATS server",
		Long:  devLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runDev(cmd, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.dataDir, "data-dir", a.envOr("SWITCHYARD_DATA_DIR", "data"),
		"folder for JetStream data, the secret key and the internal token (env SWITCHYARD_DATA_DIR)")
	fs.StringVar(&f.natsListen, "nats-listen", defaultNATSListen,
		"address of the embedded NATS server; unused when NATS_URL is set")
	fs.StringVar(&f.configListen, "config-listen", defaultConfigListen, "address of the config gRPC API")
	fs.StringVar(&f.ingestListen, "ingest-listen", defaultIngestListen, "address of the ingest HTTP API")
	fs.StringVar(&f.metricsListen, "metrics-listen", defaultMetricsListen,
		"address of /metrics, /healthz and /readyz")
	fs.StringVar(&f.prefix, "prefix", a.getenv("SWITCHYARD_PREFIX"),
		"prefix of every stream, subject and bucket name, to share a NATS server (env SWITCHYARD_PREFIX)")
	fs.IntVar(&f.replicas, "replicas", 1, jsstreams.ReplicasUsage)
	fs.DurationVar(&f.eventsMaxAge, "events-max-age", defaultEventsMaxAge,
		"how long the EVENTS stream keeps events for events replay, such as 72h")
	fs.DurationVar(&f.recordTTL, "delivery-record-ttl", 7*24*time.Hour,
		"how long deliveries get can show a delivery after its last change, such as 48h")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func (a *app) runDev(cmd *cobra.Command, f *devFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usagef("invalid --log-level %q: want debug, info, warn or error", f.logLevel)
	}
	logger, err := telemetry.NewLogger(a.err, f.logFormat, level)
	if err != nil {
		return usagef("invalid --log-format: %v", err)
	}
	if err := f.checkListen(a.getenv("NATS_URL") == ""); err != nil {
		return err
	}
	if err := checkEventsMaxAge(f.eventsMaxAge); err != nil {
		return err
	}
	if err := a.resolveReplicas(cmd, f); err != nil {
		return err
	}
	if f.recordTTL < time.Minute {
		return usagef("invalid --delivery-record-ttl %s: want at least 1m", f.recordTTL)
	}

	ctx := cmd.Context()
	s, err := stack.Start(ctx, stack.Config{
		DataDir:       f.dataDir,
		NATSURL:       a.getenv("NATS_URL"),
		NATSListen:    f.natsListen,
		Prefix:        f.prefix,
		ConfigListen:  f.configListen,
		IngestListen:  f.ingestListen,
		MetricsListen: f.metricsListen,
		SecretKey:     a.getenv("SWITCHYARD_SECRET_KEY"),
		InternalToken: a.getenv("SWITCHYARD_INTERNAL_TOKEN"),
		RedisURL:      a.getenv("REDIS_URL"),
		Logger:        logger,
		StreamOptions: jsstreams.Options{
			Replicas:          f.replicas,
			EventsMaxAge:      f.eventsMaxAge,
			DeliveryRecordTTL: f.recordTTL,
		},
	})
	if err != nil {
		return err
	}
	defer s.Close()

	a.printListening(s, f)
	err = s.Run(ctx)
	logger.Info("switchyard dev stopped")
	return err
}

func (a *app) printListening(s *stack.Stack, f *devFlags) {
	nats := s.NATSURL() + " (external, NATS_URL)"
	if s.Embedded() {
		dir, _ := filepath.Abs(filepath.Join(f.dataDir, "jetstream"))
		nats = s.NATSURL() + " (embedded, data in " + dir + ")"
	}
	fmt.Fprintf(a.out, "switchyard dev is running; stop it with Ctrl-C\n"+
		"  ingest   http://%s\n"+
		"  config   %s\n"+
		"  nats     %s\n"+
		"  metrics  http://%s/metrics\n",
		s.IngestAddr(), s.ConfigAddr(), nats, s.MetricsAddr())
}

// resolveReplicas takes --replicas from the environment unless the flag
// was given, and rejects a count that JetStream cannot keep, such as more
// than 1 on the embedded server.
func (a *app) resolveReplicas(cmd *cobra.Command, f *devFlags) error {
	if !cmd.Flags().Changed("replicas") {
		n, err := jsstreams.DefaultReplicas(a.getenv)
		if err != nil {
			return usageError{err: err}
		}
		f.replicas = n
	}
	if err := jsstreams.CheckReplicas(f.replicas); err != nil {
		return usageError{err: err}
	}
	if f.replicas > 1 && a.getenv("NATS_URL") == "" {
		return usagef("invalid --replicas %d (env %s): the embedded NATS server is a single "+
			"server, so use --replicas 1 or set NATS_URL to a cluster", f.replicas, jsstreams.EnvReplicas)
	}
	return nil
}

// checkListen rejects a listen flag that is not host:port before
// anything starts. The NATS address counts only for the embedded server.
func (f *devFlags) checkListen(embedded bool) error {
	flags := []struct{ name, value, example string }{
		{"config-listen", f.configListen, defaultConfigListen},
		{"ingest-listen", f.ingestListen, defaultIngestListen},
		{"metrics-listen", f.metricsListen, defaultMetricsListen},
	}
	if embedded {
		flags = append(flags, struct{ name, value, example string }{
			"nats-listen", f.natsListen, defaultNATSListen})
	}
	for _, flag := range flags {
		_, port, err := net.SplitHostPort(flag.value)
		if err == nil && (port == "0" || validPort(port)) {
			continue
		}
		return usagef("invalid --%s %q: want host:port, such as %s (port 0 picks a free port)",
			flag.name, flag.value, flag.example)
	}
	return nil
}
