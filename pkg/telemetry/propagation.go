package telemetry

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// W3C trace context field names, which are also the names of the
// CloudEvents distributed tracing extension attributes.
const (
	traceparentKey = "traceparent"
	tracestateKey  = "tracestate"
)

// HeaderCarrier adapts NATS message headers to a propagation
// TextMapCarrier: telemetry.HeaderCarrier(msg.Header). NATS header
// names are case-sensitive, and the W3C propagators use lowercase ones
// ("traceparent", "tracestate", "baggage"). Set panics on a nil header,
// like any write to a nil map.
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key, or "" when it is absent.
func (c HeaderCarrier) Get(key string) string {
	return nats.Header(c).Get(key)
}

// Set replaces the values of key with value.
func (c HeaderCarrier) Set(key, value string) {
	nats.Header(c).Set(key, value)
}

// Keys returns the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes the trace context and baggage of ctx into h with the
// global propagator, which Setup installs. h must not be nil: build
// messages with nats.NewMsg, which allocates the header.
func Inject(ctx context.Context, h nats.Header) {
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(h))
}

// Extract returns ctx with the remote span context and baggage read from
// h, for a consumer to start its span as a child. A nil or empty header
// returns ctx unchanged.
func Extract(ctx context.Context, h nats.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(h))
}

// ExtractCloudEventTraceparent returns ctx with the remote span context
// from a CloudEvent's traceparent and tracestate extension attributes.
// It always uses the W3C trace context format, which the CloudEvents
// extension defines, whatever the global propagator is. An empty or
// invalid traceparent returns ctx unchanged.
func ExtractCloudEventTraceparent(ctx context.Context, traceparent, tracestate string) context.Context {
	carrier := propagation.MapCarrier{traceparentKey: traceparent}
	if tracestate != "" {
		carrier[tracestateKey] = tracestate
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}

// CloudEventTraceparent returns the traceparent and tracestate extension
// values for the span in ctx, to set on a CloudEvent that a producer
// emits. Both are "" when ctx holds no valid span context.
func CloudEventTraceparent(ctx context.Context) (traceparent, tracestate string) {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier[traceparentKey], carrier[tracestateKey]
}
