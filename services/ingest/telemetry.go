package ingest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
)

// instrumentationName names the tracer and the meter of this package.
const instrumentationName = "github.com/switchyard-dev/switchyard/services/ingest"

// Values of the transport attribute.
const (
	transportHTTP = "http"
	transportNATS = "nats"
)

// headerTraceparent is the W3C trace context header on HTTP requests
// and NATS messages.
const headerTraceparent = "traceparent"

// CloudEvents distributed tracing extension attributes.
const (
	extensionTraceparent = "traceparent"
	extensionTracestate  = "tracestate"
)

// tracePropagator reads and writes W3C trace context on HTTP requests
// and NATS messages. It is fixed instead of the global one, so trace
// context passes through even in a process that never ran
// telemetry.Setup, where the global propagator does nothing.
var tracePropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// observer contains the service's tracer and metric instruments.
type observer struct {
	tracer   trace.Tracer
	meter    metric.Meter
	received metric.Int64Counter
	rejected metric.Int64Counter
}

// newObserver takes the tracer and meter from tel, or from the
// OpenTelemetry globals when tel is nil.
func newObserver(tel *telemetry.Telemetry) (*observer, error) {
	o := &observer{}
	if tel != nil {
		o.tracer, o.meter = tel.Tracer(instrumentationName), tel.Meter(instrumentationName)
	} else {
		o.tracer, o.meter = otel.Tracer(instrumentationName), otel.Meter(instrumentationName)
	}

	var err error
	o.received, err = o.meter.Int64Counter("switchyard.ingest.events.received",
		metric.WithUnit("{event}"),
		metric.WithDescription("Events received over HTTP or NATS, by transport. "+
			"A redelivered NATS message counts again."))
	if err != nil {
		return nil, err
	}
	o.rejected, err = o.meter.Int64Counter("switchyard.ingest.events.rejected",
		metric.WithUnit("{event}"),
		metric.WithDescription("Events not stored, by transport and reason (the error code). "+
			"An HTTP request rejected as a whole counts once."))
	if err != nil {
		return nil, err
	}
	return o, nil
}

// setupTelemetry builds the instruments and the consumer lag gauges.
// It runs after setupJetStream, which creates the consumer.
func (s *Service) setupTelemetry() error {
	obs, err := newObserver(s.cfg.Telemetry)
	if err != nil {
		return fmt.Errorf("ingest: create metrics: %w", err)
	}
	s.obs = obs
	s.lag = telemetry.NewConsumerLag(s.consumer, s.cfg.Topology.Stream(streams.Ingress), consumerName)
	if err := s.lag.Register(obs.meter); err != nil {
		return fmt.Errorf("ingest: create metrics: %w", err)
	}
	return nil
}

// instrumentHandler gives each request to h a server span that continues
// the caller's W3C trace context.
func (o *observer) instrumentHandler(h http.Handler, operation string) http.Handler {
	return otelhttp.NewHandler(h, operation, otelhttp.WithPropagators(tracePropagator))
}

// rejectRequest counts a request rejected as a whole and writes its
// failure response.
func (s *Service) rejectRequest(ctx context.Context, w http.ResponseWriter, f *failure) {
	s.obs.rejected.Add(ctx, 1, metric.WithAttributes(
		attribute.String("transport", transportHTTP), attribute.String("reason", f.Code)))
	trace.SpanFromContext(ctx).SetStatus(codes.Error, f.Code)
	writeFailure(w, f)
}

// eventTrace is the receive span of one event with its store span. Its
// context carries the receive span, for logs and the EVENTS message.
type eventTrace struct {
	obs       *observer
	ctx       context.Context
	receive   trace.Span
	store     trace.Span
	transport string
}

// startEvent counts an event and starts its receive span, back-dated to
// received, with a validate span from received to validated. Decoding
// comes before the spans because a traceparent extension on the event
// chooses their parent.
func (o *observer) startEvent(ctx context.Context, transport, bus string, e entry,
	received, validated time.Time) *eventTrace {
	o.received.Add(ctx, 1, metric.WithAttributes(attribute.String("transport", transport)))

	parent, links := eventParent(ctx, e.event)
	ctx, receive := o.tracer.Start(parent, "ingest.receive",
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(received),
		trace.WithLinks(links...))
	// The attributes are built only for a recorded span, so tracing
	// that is off costs no allocation here.
	if receive.IsRecording() {
		receive.SetAttributes(
			attribute.String("switchyard.bus", bus),
			attribute.String("switchyard.transport", transport))
	}
	if receive.IsRecording() && e.event != nil {
		receive.SetAttributes(
			attribute.String("cloudevents.event_id", e.event.ID()),
			attribute.String("cloudevents.event_source", e.event.Source()),
			attribute.String("cloudevents.event_type", e.event.Type()))
	}

	_, validate := o.tracer.Start(ctx, "ingest.validate", trace.WithTimestamp(received))
	if e.err != nil {
		validate.SetStatus(codes.Error, e.err.Code)
		validate.SetAttributes(attribute.String("error.type", e.err.Code))
	}
	validate.End(trace.WithTimestamp(validated))

	return &eventTrace{obs: o, ctx: ctx, receive: receive, transport: transport}
}

// eventParent returns the context that an event's spans continue: the
// trace in the event's traceparent extension when it contains a valid one,
// linked to the transport's span, or else ctx. The extension names
// where the event started, which may lie before the hop that carried it.
func eventParent(ctx context.Context, ev *event.Event) (context.Context, []trace.Link) {
	if ev == nil {
		return ctx, nil
	}
	traceparent, _ := ev.Extensions()[extensionTraceparent].(string)
	if traceparent == "" || len(traceparent) > maxTraceparentLength {
		return ctx, nil
	}
	tracestate, _ := ev.Extensions()[extensionTracestate].(string)
	parent := telemetry.ExtractCloudEventTraceparent(ctx, traceparent, tracestate)
	if !trace.SpanContextFromContext(parent).IsValid() {
		return ctx, nil
	}

	var links []trace.Link
	if hop := trace.SpanContextFromContext(ctx); hop.IsValid() {
		links = append(links, trace.Link{SpanContext: hop})
	}
	return parent, links
}

// startStore starts the span of the EVENTS publish and returns its
// context, whose trace context the message carries.
func (t *eventTrace) startStore() context.Context {
	ctx, span := t.obs.tracer.Start(t.ctx, "ingest.store",
		trace.WithSpanKind(trace.SpanKindProducer))
	t.store = span
	return ctx
}

// end ends the spans with the event's outcome and counts a rejection.
func (t *eventTrace) end(f *failure) {
	if f != nil {
		t.obs.rejected.Add(t.ctx, 1, metric.WithAttributes(
			attribute.String("transport", t.transport), attribute.String("reason", f.Code)))
		t.receive.SetStatus(codes.Error, f.Code)
		t.receive.SetAttributes(attribute.String("error.type", f.Code))
	}
	if t.store != nil {
		if f != nil {
			t.store.SetStatus(codes.Error, f.Code)
		}
		t.store.End()
	}
	t.receive.End()
}

// endRetry ends the spans of a message that is redelivered later
// because it could not be stored or checked now. It is not a rejection.
func (t *eventTrace) endRetry(err error) {
	if t.store != nil {
		t.store.RecordError(err)
		t.store.SetStatus(codes.Error, "not stored")
		t.store.End()
	}
	t.receive.SetStatus(codes.Error, "redelivering later")
	t.receive.End()
}

// extractNATS returns ctx with the trace context of a NATS message.
func extractNATS(ctx context.Context, h nats.Header) context.Context {
	return tracePropagator.Extract(ctx, telemetry.HeaderCarrier(h))
}

// injectNATS writes the trace context of ctx into a NATS message header.
func injectNATS(ctx context.Context, h nats.Header) {
	tracePropagator.Inject(ctx, telemetry.HeaderCarrier(h))
}
