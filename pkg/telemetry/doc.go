// Package telemetry sets up OpenTelemetry tracing and metrics, trace
// propagation over NATS headers and CloudEvents, trace-aware slog
// logging, and the /metrics, /healthz and /readyz endpoints that every
// Switchyard service serves.
//
// # Wiring
//
// A binary calls Setup once and Shutdown on exit, and serves Handler on
// its observability address:
//
//	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "switchyard-ingest"})
//	if err != nil {
//		return err
//	}
//	defer tel.Shutdown(context.WithoutCancel(ctx))
//	tel.AddReadinessCheck("ingest.nats", telemetry.NATSReady(nc))
//	go http.Serve(listener, tel.Handler())
//
// Setup installs its providers and the W3C trace context and baggage
// propagator as the OpenTelemetry globals, so service code can take
// tracers and meters from otel.Tracer and otel.Meter, or from
// Telemetry.Tracer and Telemetry.Meter where a Telemetry is passed in.
// A process that runs several services, like switchyard dev, shares one
// Telemetry between them.
//
// # Environment
//
// Tracing is off unless one of these is set:
//
//   - OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
//     which turns on the OTLP exporter;
//   - OTEL_TRACES_EXPORTER, a comma-separated list of otlp, console and
//     none, which wins over the endpoint rule.
//
// OTEL_SDK_DISABLED=true turns tracing off whatever else is set. The OTLP
// protocol comes from OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL: grpc (the default here) or http/protobuf.
// The exporters, the SDK and the resource read the other standard
// variables themselves: OTEL_EXPORTER_OTLP_HEADERS and the other
// exporter settings, OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES.
//
// Metrics are always collected and read by Prometheus from /metrics.
//
// # Propagation
//
// A NATS publisher calls Inject on the message header and a consumer
// calls Extract before starting its span. Events that arrive with the
// CloudEvents traceparent extension go through
// ExtractCloudEventTraceparent. The gRPC and HTTP helpers
// (GRPCServerOption, GRPCDialOption, HTTPHandler, HTTPTransport) carry
// trace context across those calls.
package telemetry
