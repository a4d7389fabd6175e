// Package config is Switchyard's configuration service. It serves the
// public gRPC API switchyard.v1.ConfigService for buses, connections,
// API destinations and rules, and the internal switchyard.internal.v1
// Resolver that hands delivery a destination's decrypted credentials.
// ConfigService also lists, redrives and purges the dead letters that
// delivery stores in the DEADLETTER stream (see redrive.go).
//
// Objects live as protobuf values in JetStream key-value buckets, and an
// object's revision is its KV revision. Every write is validated,
// checked against the objects it references, and announced on the
// config changes subject. Connection secrets are sealed with AES-256-GCM
// before they are stored, and the public API never returns them.
//
// Optional settings are stored as given: an API destination without a
// timeout is stored without one, and delivery applies the 5 s default.
package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// DefaultListen is the address of the gRPC server when Config.Listen is
// empty.
const DefaultListen = "127.0.0.1:7701"

// DefaultBus is the bus that always exists.
const DefaultBus = "default"

// defaultShutdownTimeout bounds how long Run waits for in-flight calls.
const defaultShutdownTimeout = 10 * time.Second

// Config configures a Service.
type Config struct {
	// NATS is the connection to JetStream. It is required, and the
	// service does not close it.
	NATS *nats.Conn
	// Topology names the buckets and the changes subject.
	Topology streams.Topology
	// Logger is required.
	Logger *slog.Logger
	// StreamOptions sizes the streams and buckets that New ensures.
	StreamOptions streams.Options

	// Listen is the TCP address of the gRPC server; empty means
	// DefaultListen. Port 0 picks a free port, which Addr returns.
	Listen string
	// SecretKeys are 32-byte AES keys from LoadKey. The first seals new
	// secrets; the others only open secrets sealed before a rotation.
	// At least one is required.
	SecretKeys [][]byte
	// InternalToken is the token that Resolver callers present as
	// "authorization: Bearer <token>". It is required.
	InternalToken string
	// ShutdownTimeout bounds how long Run waits for in-flight calls
	// after its context ends; zero means 10 s.
	ShutdownTimeout time.Duration
}

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	if c.NATS == nil {
		return errors.New("config: NATS connection is required")
	}
	if c.Logger == nil {
		return errors.New("config: Logger is required")
	}
	if len(c.SecretKeys) == 0 {
		return fmt.Errorf("config: no secret key; set %s or give a key file to LoadKey",
			EnvSecretKey)
	}
	if c.InternalToken == "" {
		return fmt.Errorf("config: no internal token; set %s or give a token file to LoadToken",
			EnvInternalToken)
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	return nil
}

// Service is the configuration service. Its methods are safe for
// concurrent use.
type Service struct {
	cfg       Config
	log       *slog.Logger
	keys      *keyring
	tokenHash [sha256.Size]byte

	// writeMu serializes writes; see lockWrites.
	writeMu sync.Mutex

	buses        bucket[*v1.Bus]
	connections  bucket[*v1.Connection]
	destinations bucket[*v1.ApiDestination]
	rules        bucket[*v1.Rule]
	records      *records.Store

	js          jetstream.JetStream
	deadLetters jetstream.Stream
	// redrives holds a marker per dead letter that a redrive is moving.
	redrives jetstream.KeyValue
	// dedupWindow is the DELIVERIES stream's duplicate window.
	dedupWindow time.Duration
	// maxTaskSize is the largest task message that DELIVERIES stores.
	maxTaskSize int

	listener net.Listener
	server   *grpc.Server
	health   *health.Server
}

// New validates cfg, ensures the streams and buckets, creates the
// default bus when it is missing and binds the listener, so Addr is
// known on return. Serving starts with Run.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.SecretKeys)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s := &Service{
		cfg:       cfg,
		log:       cfg.Logger,
		keys:      keys,
		tokenHash: sha256.Sum256([]byte(cfg.InternalToken)),
	}
	if err := s.openStore(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureDefaultBus(ctx); err != nil {
		return nil, err
	}

	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("config: listen on %s: %w", cfg.Listen, err)
	}
	s.listener = lis
	s.server = grpc.NewServer(grpc.ChainUnaryInterceptor(s.intercept),
		telemetry.GRPCServerOption())
	s.health = health.NewServer()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	v1.RegisterConfigServiceServer(s.server, &configAPI{s: s})
	internalv1.RegisterResolverServer(s.server, &resolverAPI{s: s})
	healthpb.RegisterHealthServer(s.server, s.health)
	return s, nil
}

func (s *Service) openStore(ctx context.Context) error {
	js, err := jetstream.New(s.cfg.NATS)
	if err != nil {
		return fmt.Errorf("config: jetstream: %w", err)
	}
	t := s.cfg.Topology
	// Config owns the stream settings, so it alone updates them.
	owned := s.cfg.StreamOptions
	owned.Owner = true
	if err := streams.Ensure(ctx, js, t, owned); err != nil {
		return fmt.Errorf("config: %w", err)
	}

	var kvs []jetstream.KeyValue
	for _, name := range []string{
		streams.BucketBuses, streams.BucketConnections,
		streams.BucketDestinations, streams.BucketRules,
	} {
		kv, err := js.KeyValue(ctx, t.Bucket(name))
		if err != nil {
			return fmt.Errorf("config: open bucket %s: %w", t.Bucket(name), err)
		}
		kvs = append(kvs, kv)
	}
	s.buses = newBucket(kvs[0], func() *v1.Bus { return &v1.Bus{} })
	s.connections = newBucket(kvs[1], func() *v1.Connection { return &v1.Connection{} })
	s.destinations = newBucket(kvs[2], func() *v1.ApiDestination { return &v1.ApiDestination{} })
	s.rules = newBucket(kvs[3], func() *v1.Rule { return &v1.Rule{} })

	s.records, err = records.Open(ctx, js, t)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return s.openDeadLetters(ctx, js)
}

// Addr returns the address the gRPC server listens on.
func (s *Service) Addr() net.Addr { return s.listener.Addr() }

// Run serves gRPC until ctx ends. Then it reports NOT_SERVING, stops
// taking calls and waits up to Config.ShutdownTimeout for in-flight
// calls before cutting them off. It returns nil on such a stop. Run may
// be called once.
func (s *Service) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.server.Serve(s.listener) }()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.log.Info("config service started", "addr", s.Addr().String())

	select {
	case err := <-served:
		s.health.Shutdown()
		return fmt.Errorf("config: serve: %w", err)
	case <-ctx.Done():
	}

	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.server.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Warn("config service cut off in-flight calls",
			"timeout", s.cfg.ShutdownTimeout.String())
		s.server.Stop()
		<-stopped
	}
	s.log.Info("config service stopped")
	return nil
}

// intercept maps every error of the service's RPCs to its gRPC status
// and logs the ones that are the service's fault, which the caller
// cannot fix.
func (s *Service) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler,
) (any, error) {
	resp, err := handler(ctx, req)
	if err == nil {
		return resp, nil
	}
	if codeOf(err) == codes.Internal {
		s.log.Error("config call failed", "method", info.FullMethod, "error", err)
	}
	return nil, grpcError(err)
}
