package telemetry

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
)

// The helpers below wire the OpenTelemetry contrib instrumentation with
// the global providers and propagator. They can be built before Setup
// runs, because the OpenTelemetry globals forward to the providers that
// Setup installs later, and stay no-op when it installs none.
//
// NOTE: the globals forward only to the first provider ever installed,
// so an option built before a second Setup in one process, as in a
// test, keeps using the first Telemetry's providers.

// GRPCServerOption returns a server option that starts a span for each
// incoming RPC, continuing the caller's trace, and records RPC metrics.
func GRPCServerOption() grpc.ServerOption {
	return grpc.StatsHandler(otelgrpc.NewServerHandler())
}

// GRPCDialOption returns a dial option that starts a client span for
// each outgoing RPC, sends its trace context in the metadata, and
// records RPC metrics.
func GRPCDialOption() grpc.DialOption {
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler())
}

// HTTPTransport wraps base so that each request gets a client span and
// carries its trace context in the headers. A nil base means
// http.DefaultTransport.
func HTTPTransport(base http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(base)
}

// HTTPHandler wraps h so that each request gets a server span named
// operation, continuing the caller's trace, and records HTTP metrics.
func HTTPHandler(h http.Handler, operation string) http.Handler {
	return otelhttp.NewHandler(h, operation)
}
