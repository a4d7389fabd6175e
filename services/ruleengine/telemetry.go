package ruleengine

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
const instrumentationName = "github.com/switchyard-dev/switchyard/services/ruleengine"

// tracePropagator reads the W3C trace context of an event and writes it
// on its tasks. It is fixed instead of the global one, so trace context
// passes through even in a process that never ran telemetry.Setup.
var tracePropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// observer contains the service's tracer and metric instruments.
type observer struct {
	tracer trace.Tracer
	meter  metric.Meter

	events         metric.Int64Counter
	matched        metric.Int64Counter
	invalid        metric.Int64Counter
	ruleMatches    metric.Int64Counter
	tasks          metric.Int64Counter
	renderFailures metric.Int64Counter
	retries        metric.Int64Counter
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

	counters := []struct {
		counter     *metric.Int64Counter
		name, unit  string
		description string
	}{
		{&o.events, "switchyard.ruleengine.events", "{event}",
			"Events fetched from EVENTS, including redeliveries."},
		{&o.matched, "switchyard.ruleengine.events.matched", "{event}",
			"Events that matched at least one rule."},
		{&o.invalid, "switchyard.ruleengine.events.invalid", "{event}",
			"Events terminated for not being a JSON object."},
		{&o.ruleMatches, "switchyard.ruleengine.rule.matches", "{event}",
			"Events matched, by bus and rule."},
		{&o.tasks, "switchyard.ruleengine.tasks.published", "{task}",
			"Delivery tasks stored in DELIVERIES, by whether JetStream recognized a duplicate."},
		{&o.renderFailures, "switchyard.ruleengine.render.failures", "{request}",
			"Requests that could not be rendered or were too large, by bus, rule, error code " +
				"and whether the target dead-lettered them."},
		{&o.retries, "switchyard.ruleengine.events.retried", "{event}",
			"Events handed back for redelivery because a record or task was not stored."},
	}
	for _, c := range counters {
		var err error
		*c.counter, err = o.meter.Int64Counter(c.name,
			metric.WithUnit(c.unit), metric.WithDescription(c.description))
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

// startMatch starts the span of matching one event, continuing the
// trace context in the event's headers.
func (o *observer) startMatch(msg jetstream.Msg) (context.Context, trace.Span) {
	ctx := tracePropagator.Extract(context.Background(), telemetry.HeaderCarrier(msg.Headers()))
	return o.tracer.Start(ctx, "ruleengine.match",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("switchyard.bus", streams.BusFromSubject(msg.Subject()))))
}

// startRender starts the span of rendering one target's request.
func (o *observer) startRender(ctx context.Context, rule, targetID, destination string) (context.Context, trace.Span) {
	return o.tracer.Start(ctx, "ruleengine.render", trace.WithAttributes(
		attribute.String("switchyard.rule", rule),
		attribute.String("switchyard.target", targetID),
		attribute.String("switchyard.destination", destination)))
}

// failSpan marks span as failed with err.
func failSpan(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// injectTrace writes the trace context of ctx into a task's header.
func injectTrace(ctx context.Context, h nats.Header) {
	tracePropagator.Inject(ctx, telemetry.HeaderCarrier(h))
}

func busRule(bus, rule string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("bus", bus), attribute.String("rule", rule))
}
