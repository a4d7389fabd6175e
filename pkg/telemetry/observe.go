package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// observeShutdownTimeout bounds the final span export and the
// observability server's shutdown on exit.
const observeShutdownTimeout = 5 * time.Second

// Observability is a binary's telemetry and the HTTP server of its
// /metrics, /healthz and /readyz endpoints.
type Observability struct {
	Telemetry *Telemetry

	server *http.Server
	served chan error
}

// StartObservability sets up telemetry from the OTEL_* environment and
// serves its endpoints on listen. Call Stop on exit.
func StartObservability(ctx context.Context, service, listen string,
	logger *slog.Logger) (*Observability, error) {
	tel, err := Setup(ctx, Config{ServiceName: service})
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return nil, fmt.Errorf("listen for metrics on %s: %w", listen, err)
	}

	o := &Observability{
		Telemetry: tel,
		server: &http.Server{
			Handler:           tel.Handler(),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		served: make(chan error, 1),
	}
	go func() { o.served <- o.server.Serve(lis) }()
	logger.Info("observability endpoints serving", "addr", lis.Addr().String(),
		"tracing", tel.TracingEnabled())
	return o, nil
}

// Stop shuts the server down and flushes the buffered spans.
func (o *Observability) Stop(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), observeShutdownTimeout)
	defer cancel()
	_ = o.server.Shutdown(ctx)
	if err := <-o.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("observability server failed", "error", err)
	}
	if err := o.Telemetry.Shutdown(ctx); err != nil {
		logger.Warn("telemetry shutdown incomplete", "error", err)
	}
}
