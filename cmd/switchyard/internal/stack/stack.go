// Package stack runs every Switchyard service in one process, for
// `switchyard dev`, the end-to-end tests and the benchmarks.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/natsconn"
	"github.com/switchyard-dev/switchyard/pkg/natsserver"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/config"
	"github.com/switchyard-dev/switchyard/services/delivery"
	"github.com/switchyard-dev/switchyard/services/ingest"
	"github.com/switchyard-dev/switchyard/services/ruleengine"
)

// Config is the set of listen addresses and the data folder of a stack.
type Config struct {
	// DataDir holds the embedded server's JetStream store, the secret
	// key and the internal token.
	DataDir string
	// NATSURL selects an external NATS server; empty starts an embedded
	// one on NATSListen.
	NATSURL    string
	NATSListen string
	// Prefix goes in front of every stream, subject and bucket name.
	Prefix        string
	ConfigListen  string
	IngestListen  string
	MetricsListen string
	// SecretKey and InternalToken override the files in DataDir, as the
	// SWITCHYARD_SECRET_KEY and SWITCHYARD_INTERNAL_TOKEN variables do.
	SecretKey     string
	InternalToken string
	// RedisURL selects a Redis server that delivery shares its caches
	// through; empty keeps them in memory.
	RedisURL string
	Logger   *slog.Logger
	// StreamOptions sizes the streams and buckets, such as how long
	// EVENTS keeps events for replay. Every service gets the same
	// options, because each one ensures the streams at start and would
	// undo a setting that differs from its own.
	StreamOptions streams.Options
	// SpanExporter, when set, receives every span and turns tracing on
	// whatever the OTEL_* variables set. Tests use an in-memory one.
	SpanExporter sdktrace.SpanExporter
}

// Stack is every Switchyard service in one process. The services are
// wired exactly as the separate binaries are: each has its own NATS
// connection, and the others reach config over gRPC.
type Stack struct {
	lock      *os.File
	nats      *server.Server
	natsURL   string
	log       *slog.Logger
	conns     []*nats.Conn
	grpcConns []*grpc.ClientConn
	redis     *redis.Client
	tel       *telemetry.Telemetry
	metrics   net.Listener

	config     *config.Service
	ingest     *ingest.Service
	ruleengine *ruleengine.Service
	delivery   *delivery.Service
}

// Start starts NATS, if embedded, and creates the four services. The
// services serve once Run is called; Close releases what Start opened.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	s := &Stack{log: cfg.Logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if err := s.startNATS(cfg); err != nil {
		return nil, err
	}
	if err := s.startTelemetry(ctx, cfg); err != nil {
		return nil, err
	}

	key, token, err := loadSecrets(cfg)
	if err != nil {
		return nil, err
	}

	topology := streams.Topology{Prefix: cfg.Prefix}
	if err := s.startConfig(ctx, cfg, topology, key, token); err != nil {
		return nil, err
	}
	if err := s.startWorkers(ctx, cfg, topology, token); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stack) startNATS(cfg Config) error {
	if cfg.NATSURL != "" {
		s.natsURL = cfg.NATSURL
		return nil
	}
	host, port, err := splitHostPort(cfg.NATSListen)
	if err != nil {
		return fmt.Errorf("invalid NATS listen address %q: %w", cfg.NATSListen, err)
	}
	if s.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return err
	}
	ns, err := natsserver.Start(natsserver.Config{
		Host:     host,
		Port:     port,
		StoreDir: filepath.Join(cfg.DataDir, "jetstream"),
	})
	if err != nil {
		return fmt.Errorf("%w (the address is set with --nats-listen)", err)
	}
	s.nats = ns
	s.natsURL = ns.ClientURL()
	return nil
}

// splitHostPort parses host:port; port 0 becomes -1, which the NATS
// server reads as "pick a free port".
func splitHostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", portText)
	}
	if port == 0 {
		port = -1
	}
	return host, port, nil
}

func (s *Stack) startTelemetry(ctx context.Context, cfg Config) error {
	tel, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:  "switchyard",
		SpanExporter: cfg.SpanExporter,
	})
	if err != nil {
		return err
	}
	s.tel = tel
	lis, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics listener on %s: %w; stop what uses it or "+
			"choose another address with --metrics-listen", cfg.MetricsListen, err)
	}
	s.metrics = lis
	return nil
}

// loadSecrets reads the secret key and the internal token, creating
// files with mode 0600 in the data folder on first start.
func loadSecrets(cfg Config) ([]byte, string, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("data folder: %w", err)
	}
	key, err := config.LoadKey(cfg.SecretKey, filepath.Join(cfg.DataDir, "secret.key"), true)
	if err != nil {
		return nil, "", err
	}
	token, err := config.LoadToken(cfg.InternalToken, filepath.Join(cfg.DataDir, "internal.token"), true)
	if err != nil {
		return nil, "", err
	}
	return key, token, nil
}

func (s *Stack) connect(name string) (*nats.Conn, error) {
	nc, err := natsconn.Connect(s.natsURL, "switchyard-"+name, s.log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.conns = append(s.conns, nc)
	s.tel.AddReadinessCheck(name+".nats", telemetry.NATSReady(nc))
	return nc, nil
}

func (s *Stack) dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append(opts, telemetry.GRPCDialOption())
	cc, err := configclient.Dial(addr, opts...)
	if err != nil {
		return nil, err
	}
	s.grpcConns = append(s.grpcConns, cc)
	return cc, nil
}

func (s *Stack) startConfig(ctx context.Context, cfg Config, t streams.Topology,
	key []byte, token string) error {
	nc, err := s.connect("config")
	if err != nil {
		return err
	}
	s.config, err = config.New(ctx, config.Config{
		NATS:          nc,
		Topology:      t,
		Logger:        cfg.Logger.With("service", "config"),
		Listen:        cfg.ConfigListen,
		SecretKeys:    [][]byte{key},
		InternalToken: token,
		StreamOptions: cfg.StreamOptions,
	})
	return err
}

func (s *Stack) startWorkers(ctx context.Context, cfg Config, t streams.Topology,
	token string) error {
	configAddr := s.config.Addr().String()
	public, err := s.dial(configAddr)
	if err != nil {
		return err
	}
	internal, err := s.dial(configAddr, configclient.InternalToken(token))
	if err != nil {
		return err
	}
	client := v1.NewConfigServiceClient(public)

	nc, err := s.connect("ingest")
	if err != nil {
		return err
	}
	s.ingest, err = ingest.New(ctx, ingest.Config{
		NATS:     nc,
		Topology: t,
		Logger:   cfg.Logger.With("service", "ingest"),
		Buses:    client,
		Listen:   cfg.IngestListen,
		Streams:  cfg.StreamOptions,

		Telemetry: s.tel,
	})
	if err != nil {
		return err
	}

	if nc, err = s.connect("ruleengine"); err != nil {
		return err
	}
	s.ruleengine, err = ruleengine.New(ctx, ruleengine.Config{
		NATS:     nc,
		Topology: t,
		Logger:   cfg.Logger.With("service", "ruleengine"),
		Rules:    ruleengine.ConfigServiceRules{Client: client},
		Streams:  cfg.StreamOptions,

		Telemetry: s.tel,
	})
	if err != nil {
		return err
	}

	if nc, err = s.connect("delivery"); err != nil {
		return err
	}
	if err := s.openRedis(cfg.RedisURL); err != nil {
		return err
	}
	if s.redis != nil {
		s.tel.AddReadinessCheck("delivery.redis", func(ctx context.Context) error {
			return s.redis.Ping(ctx).Err()
		})
	}
	s.delivery, err = delivery.New(ctx, delivery.Config{
		NATS:          nc,
		Topology:      t,
		Logger:        cfg.Logger.With("service", "delivery"),
		Resolver:      internalv1.NewResolverClient(internal),
		Redis:         s.redis,
		InternalToken: token,
		StreamOptions: cfg.StreamOptions,

		Telemetry: s.tel,
	})
	return err
}

// openRedis creates the Redis client of url, if set. It does not
// connect, since delivery works without Redis and warns while it is
// down.
func (s *Stack) openRedis(url string) error {
	if url == "" {
		return nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("invalid Redis URL: %w", err)
	}
	s.redis = redis.NewClient(opts)
	return nil
}

// Run serves every service until ctx ends or one of them fails, then
// stops them all.
func (s *Stack) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.config.Run(ctx) })
	g.Go(func() error { return s.ingest.Run(ctx) })
	g.Go(func() error { return s.ruleengine.Run(ctx) })
	g.Go(func() error { return s.delivery.Run(ctx) })
	g.Go(func() error { return s.serveMetrics(ctx) })
	return g.Wait()
}

func (s *Stack) serveMetrics(ctx context.Context) error {
	srv := &http.Server{Handler: s.tel.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	err := srv.Serve(s.metrics)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close releases the connections and stops the embedded server, after
// Run has returned.
func (s *Stack) Close() {
	for _, cc := range s.grpcConns {
		_ = cc.Close()
	}
	for _, nc := range s.conns {
		nc.Close()
	}
	if s.redis != nil {
		_ = s.redis.Close()
	}
	if s.metrics != nil {
		_ = s.metrics.Close()
	}
	if s.tel != nil {
		_ = s.tel.Shutdown(context.Background())
	}
	if s.nats != nil {
		s.nats.Shutdown()
		s.nats.WaitForShutdown()
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
}

// NATSURL is the URL of the NATS server the services use.
func (s *Stack) NATSURL() string { return s.natsURL }

// Embedded reports whether the stack runs its own NATS server.
func (s *Stack) Embedded() bool { return s.nats != nil }

// ConfigAddr is the address of the config gRPC API.
func (s *Stack) ConfigAddr() net.Addr { return s.config.Addr() }

// IngestAddr is the address of the ingest HTTP API.
func (s *Stack) IngestAddr() net.Addr { return s.ingest.Addr() }

// MetricsAddr is the address of /metrics, /healthz and /readyz.
func (s *Stack) MetricsAddr() net.Addr { return s.metrics.Addr() }

// RuleRevision returns the revision of a rule that the rule engine
// matches with now, or 0 when it has not loaded the rule.
func (s *Stack) RuleRevision(bus, name string) int64 {
	return s.ruleengine.RuleRevision(bus, name)
}
