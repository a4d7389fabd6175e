package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
)

// DefaultListen is the HTTP address when Config.Listen is empty.
const DefaultListen = "127.0.0.1:7700"

// shutdownTimeout bounds how long Run waits for in-flight requests and
// ingress messages after its context is cancelled.
const shutdownTimeout = 15 * time.Second

// Config configures a Service.
type Config struct {
	// NATS is the connection to JetStream. Required. The service does
	// not close it.
	NATS *nats.Conn
	// Topology names the streams and subjects.
	Topology streams.Topology
	// Logger receives the service's logs. Required.
	Logger *slog.Logger
	// Buses looks up buses in the config service. Required. In
	// production it is a switchyardv1.ConfigServiceClient.
	Buses BusGetter
	// Listen is the HTTP address. Empty means DefaultListen, and a port
	// of 0 picks a free one, which Service.Addr returns.
	Listen string
	// Streams sizes the streams and buckets that New creates if they are
	// missing.
	Streams streams.Options
	// Telemetry provides the tracer and the meter. Nil means the
	// OpenTelemetry globals.
	Telemetry *telemetry.Telemetry
}

// Validate reports the first missing required field.
func (c Config) Validate() error {
	switch {
	case c.NATS == nil:
		return errors.New("ingest: Config.NATS is required")
	case c.Logger == nil:
		return errors.New("ingest: Config.Logger is required")
	case c.Buses == nil:
		return errors.New("ingest: Config.Buses is required (a config service client)")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	return c
}

// Service accepts events over HTTP and from the INGRESS stream and
// stores the valid ones in EVENTS.
type Service struct {
	cfg      Config
	log      *slog.Logger
	js       jetstream.JetStream
	buses    *busCache
	changes  jetstream.ConsumeContext
	consumer jetstream.Consumer
	listener net.Listener
	server   *http.Server
	obs      *observer
	lag      *telemetry.ConsumerLag
	// nakDelay is ingressNakDelay; tests shorten it.
	nakDelay time.Duration

	// Records repeated per event or message are throttled.
	storeFailures   *throttle
	consumeWarnings *throttle
	nakWarnings     *throttle
	ackWarnings     *throttle
	rejections      *throttle
}

// New validates cfg, creates the streams, the ingress consumer and the
// config change subscription, and binds the HTTP listener, so Addr is
// known when New returns. Serving starts with Run.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, log: cfg.Logger, nakDelay: ingressNakDelay,
		storeFailures: newThrottle(), consumeWarnings: newThrottle(), nakWarnings: newThrottle(),
		ackWarnings: newThrottle(), rejections: newThrottle()}

	if err := s.setupJetStream(ctx); err != nil {
		return nil, err
	}
	if err := s.setupTelemetry(); err != nil {
		return nil, err
	}
	if err := s.watchChanges(ctx); err != nil {
		return nil, err
	}

	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.changes.Stop()
		return nil, fmt.Errorf("ingest: listen on %s: %w", cfg.Listen, err)
	}
	s.listener = listener
	s.server = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// WriteTimeout covers reading the body, a bus lookup and the
		// store, each bounded well below it.
		WriteTimeout: time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *Service) setupJetStream(ctx context.Context) error {
	js, err := jetstream.New(s.cfg.NATS,
		jetstream.WithPublishAsyncTimeout(storeTimeout),
		jetstream.WithPublishAsyncMaxPending(maxPendingStores))
	if err != nil {
		return fmt.Errorf("ingest: jetstream: %w", err)
	}
	s.js = js

	if err := streams.Ensure(ctx, js, s.cfg.Topology, s.cfg.Streams); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	s.consumer, err = js.CreateOrUpdateConsumer(ctx,
		s.cfg.Topology.Stream(streams.Ingress), ingressConsumerConfig())
	if err != nil {
		return fmt.Errorf("ingest: create consumer %s: %w", consumerName, err)
	}
	return nil
}

// watchChanges keeps the bus cache in step with config from before New
// returns, so no bus write after New is missed.
func (s *Service) watchChanges(ctx context.Context) error {
	s.buses = newBusCache(s.cfg.Buses, s.cfg.NATS, s.log)
	cc, err := streams.WatchChanges(ctx, s.js, s.cfg.Topology, s.buses.onChange)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	s.changes = cc
	return nil
}

// Addr returns the bound HTTP address.
func (s *Service) Addr() net.Addr { return s.listener.Addr() }

// Run serves HTTP and consumes INGRESS until ctx is cancelled. It then
// stops taking work, finishes what is in flight within shutdownTimeout,
// and returns nil. It returns an error when serving fails.
func (s *Service) Run(ctx context.Context) error {
	defer s.changes.Stop()

	served := make(chan error, 1)
	go func() { served <- s.server.Serve(s.listener) }()

	ingress, err := s.startIngress()
	if err != nil {
		_ = s.server.Close()
		<-served
		return err
	}
	s.log.Info("ingest started", "addr", s.Addr().String(), "prefix", s.cfg.Topology.Prefix)
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go s.lag.Poll(lagCtx)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.server.Shutdown(stopCtx); err != nil {
		s.log.Warn("http shutdown incomplete", "error", err)
	}
	s.stopIngress(stopCtx, ingress)
	s.log.Info("ingest stopped")

	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("ingest: serve http: %w", serveErr)
	}
	return nil
}
