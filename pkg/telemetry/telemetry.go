package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel"
	otelprometheus "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Config selects what Setup builds. Everything about trace export comes
// from the standard OTEL_* environment variables, so Config only holds
// what the environment cannot know.
type Config struct {
	// ServiceName is the service.name resource attribute, for example
	// "switchyard-ingest". OTEL_SERVICE_NAME overrides it. Required.
	ServiceName string

	// ServiceVersion is the service.version resource attribute. When
	// empty, Setup uses the main module version from the build info.
	ServiceVersion string

	// SpanExporter, when set, turns tracing on with this exporter and
	// overrides the environment. Tests use it with an in-memory exporter
	// to assert on spans.
	SpanExporter sdktrace.SpanExporter

	// ConsoleOutput is the writer for OTEL_TRACES_EXPORTER=console.
	// Nil means standard output.
	ConsoleOutput io.Writer
}

// Telemetry holds one process's trace and metric providers, its
// Prometheus registry and its readiness checks. Setup returns it.
// All methods are safe for concurrent use.
//
// One Telemetry can serve several services in one process: each service
// takes its own Meter and Tracer by instrumentation name and adds its
// readiness checks under names of its own.
type Telemetry struct {
	tracerProvider trace.TracerProvider
	// sdkTracerProvider is nil while tracing is off.
	sdkTracerProvider *sdktrace.TracerProvider
	meterProvider     *sdkmetric.MeterProvider
	registry          *prometheus.Registry

	mu     sync.Mutex
	checks []readinessCheck

	shutdownOnce sync.Once
	shutdownErr  error
}

// Setup builds the providers and installs them as the OpenTelemetry
// globals, together with the W3C trace context and baggage propagator.
// The otelgrpc and otelhttp helpers in this package use those globals.
//
// Tracing is on only when the OTEL_* variables listed in the package
// documentation select an exporter, or Config.SpanExporter is set. While it is off, the
// global tracer provider stays the no-op one, so spans cost nothing.
// Metrics are always on and are read through Handler's /metrics.
//
// Call Setup once per process and Shutdown before exit, because the
// globals are process-wide.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.ServiceName == "" {
		return nil, errors.New("telemetry: service name is missing: set Config.ServiceName")
	}
	res, err := newResource(ctx, cfg)
	if err != nil {
		return nil, err
	}

	t := &Telemetry{
		tracerProvider: tracenoop.NewTracerProvider(),
		registry:       prometheus.NewRegistry(),
	}
	if err := t.setupMetrics(res); err != nil {
		return nil, err
	}

	exporters, err := newSpanExporters(ctx, cfg)
	if err != nil {
		_ = t.meterProvider.Shutdown(ctx)
		return nil, err
	}
	if len(exporters) > 0 {
		t.setupTracing(res, exporters)
	}

	otel.SetMeterProvider(t.meterProvider)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{},
		propagation.Baggage{},
	))
	return t, nil
}

// setupTracing builds an SDK tracer provider that batches spans to the
// exporters. The SDK reads the sampler from OTEL_TRACES_SAMPLER and the
// batch sizes and delays from OTEL_BSP_*.
func (t *Telemetry) setupTracing(res *resource.Resource, exporters []sdktrace.SpanExporter) {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, exporter := range exporters {
		opts = append(opts, sdktrace.WithBatcher(exporter))
	}
	t.sdkTracerProvider = sdktrace.NewTracerProvider(opts...)
	t.tracerProvider = t.sdkTracerProvider
	otel.SetTracerProvider(t.sdkTracerProvider)
}

// setupMetrics builds a meter provider that a Prometheus exporter reads
// into the Telemetry's own registry. A registry per Telemetry, instead
// of the Prometheus default one, lets tests and a process running
// several services build more than one without duplicate registrations.
func (t *Telemetry) setupMetrics(res *resource.Resource) error {
	err := t.registry.Register(collectors.NewGoCollector())
	if err == nil {
		err = t.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if err != nil {
		return fmt.Errorf("telemetry: register runtime collectors: %w", err)
	}

	exporter, err := otelprometheus.New(otelprometheus.WithRegisterer(t.registry))
	if err != nil {
		return fmt.Errorf("telemetry: create prometheus exporter: %w", err)
	}
	t.meterProvider = sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithResource(res),
	)
	return nil
}

// Meter returns a meter from this Telemetry's meter provider. Name it
// after the instrumenting package, for example
// "github.com/switchyard-dev/switchyard/services/ingest".
func (t *Telemetry) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return t.meterProvider.Meter(name, opts...)
}

// Tracer returns a tracer from this Telemetry's tracer provider. It is a
// no-op tracer while tracing is off.
func (t *Telemetry) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return t.tracerProvider.Tracer(name, opts...)
}

// TracingEnabled reports whether spans are exported, so a service can
// log the choice at start.
func (t *Telemetry) TracingEnabled() bool {
	return t.sdkTracerProvider != nil
}

// Shutdown exports the spans still buffered and stops the providers,
// giving up when ctx ends. Where the globals are still the ones Setup
// installed, it puts no-op providers back, so a later Setup in the same
// process, as in tests, starts from a clean state. Calls after the
// first return the first call's error.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		t.shutdownErr = t.shutdown(ctx)
	})
	return t.shutdownErr
}

func (t *Telemetry) shutdown(ctx context.Context) error {
	var errs []error
	if t.sdkTracerProvider != nil {
		if otel.GetTracerProvider() == trace.TracerProvider(t.sdkTracerProvider) {
			otel.SetTracerProvider(tracenoop.NewTracerProvider())
		}
		if err := t.sdkTracerProvider.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: shut down tracer provider: %w", err))
		}
	}

	if otel.GetMeterProvider() == metric.MeterProvider(t.meterProvider) {
		otel.SetMeterProvider(metricnoop.NewMeterProvider())
	}
	if err := t.meterProvider.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("telemetry: shut down meter provider: %w", err))
	}
	return errors.Join(errs...)
}
