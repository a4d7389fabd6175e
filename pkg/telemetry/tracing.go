package telemetry

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Environment variables from the OpenTelemetry specification that Setup
// reads itself. The OTLP exporters read the rest of OTEL_EXPORTER_OTLP_*
// (headers, timeout, TLS files, insecure) on their own.
const (
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envTracesExporter = "OTEL_TRACES_EXPORTER"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// Values of OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	exporterOTLP    = "otlp"
	exporterConsole = "console"
	exporterNone    = "none"

	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
)

// newResource describes the service. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override the attributes from Config, because
// resource.New lets later detectors win.
func newResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	version := cfg.ServiceVersion
	if version == "" {
		version = buildVersion()
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			semconv.ServiceName(cfg.ServiceName),
			semconv.ServiceVersion(version),
		),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: build resource: %w", err)
	}
	return res, nil
}

// buildVersion returns the main module's version, which is "(devel)" for
// a binary built inside its own checkout.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "unknown"
	}
	return info.Main.Version
}

// newSpanExporters returns the exporters the environment selects, or
// none when tracing is off.
func newSpanExporters(ctx context.Context, cfg Config) ([]sdktrace.SpanExporter, error) {
	if cfg.SpanExporter != nil {
		return []sdktrace.SpanExporter{cfg.SpanExporter}, nil
	}
	kinds, err := tracesExporterKinds()
	if err != nil {
		return nil, err
	}

	var exporters []sdktrace.SpanExporter
	for _, kind := range kinds {
		exporter, err := newSpanExporter(ctx, kind, cfg)
		if err != nil {
			for _, created := range exporters {
				_ = created.Shutdown(ctx)
			}
			return nil, err
		}
		exporters = append(exporters, exporter)
	}
	return exporters, nil
}

// tracesExporterKinds reads which exporters to build. An explicit
// OTEL_TRACES_EXPORTER list wins. Without one, tracing is on with OTLP
// only when an OTLP endpoint is set. The specification's default is
// otlp, but a service started with no configuration should cost
// nothing and send nothing.
func tracesExporterKinds() ([]string, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv(envSDKDisabled)), "true") {
		return nil, nil
	}

	list := strings.TrimSpace(os.Getenv(envTracesExporter))
	if list == "" {
		if os.Getenv(envEndpoint) != "" || os.Getenv(envTracesEndpoint) != "" {
			return []string{exporterOTLP}, nil
		}
		return nil, nil
	}

	var kinds []string
	for _, item := range strings.Split(list, ",") {
		kind := strings.ToLower(strings.TrimSpace(item))
		switch kind {
		case exporterOTLP, exporterConsole:
			kinds = append(kinds, kind)
		case exporterNone, "":
		default:
			return nil, fmt.Errorf("telemetry: invalid %s value %q: want otlp, console or none",
				envTracesExporter, item)
		}
	}
	return kinds, nil
}

func newSpanExporter(ctx context.Context, kind string, cfg Config) (sdktrace.SpanExporter, error) {
	if kind == exporterConsole {
		out := cfg.ConsoleOutput
		if out == nil {
			out = os.Stdout
		}
		exporter, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return nil, fmt.Errorf("telemetry: create console span exporter: %w", err)
		}
		return exporter, nil
	}
	return newOTLPExporter(ctx)
}

// newOTLPExporter builds the OTLP exporter for the configured protocol.
// Neither exporter dials on creation, so Setup does not wait for a
// collector.
func newOTLPExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	protocol := os.Getenv(envTracesProtocol)
	if protocol == "" {
		protocol = os.Getenv(envProtocol)
	}
	protocol = strings.ToLower(strings.TrimSpace(protocol))
	if protocol == "" {
		protocol = protocolGRPC
	}

	var (
		exporter sdktrace.SpanExporter
		err      error
	)
	switch protocol {
	case protocolGRPC:
		exporter, err = otlptracegrpc.New(ctx)
	case protocolHTTPProtobuf:
		exporter, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("telemetry: unsupported OTLP protocol %q: want grpc or http/protobuf",
			protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: create OTLP %s span exporter: %w", protocol, err)
	}
	return exporter, nil
}
