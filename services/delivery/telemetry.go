package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

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
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// instrumentationName names the tracer and the meter of this package.
const instrumentationName = "github.com/switchyard-dev/switchyard/services/delivery"

// tracePropagator reads the W3C trace context of a task. It is fixed
// instead of the global one, so trace context passes through even in a
// process that never ran telemetry.Setup.
var tracePropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Bucket boundaries in seconds. HTTP calls are bounded by the largest
// destination timeout (60 s). Latency from ingest includes retries, so
// its buckets reach a day, the default max event age.
var (
	callBuckets    = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	latencyBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
		3600, 4 * 3600, 24 * 3600}
)

// observer contains the service's tracer, metric instruments and consumer
// lag gauges.
type observer struct {
	tracer trace.Tracer
	meter  metric.Meter
	lag    *telemetry.ConsumerLag

	deliveries    metric.Int64Counter
	attempts      metric.Int64Counter
	deadLetters   metric.Int64Counter
	redrives      metric.Int64Counter
	cacheLookups  metric.Int64Counter
	latency       metric.Float64Histogram
	callDurations metric.Float64Histogram
}

// newObserver takes the tracer and meter from cfg.Telemetry, or from the
// OpenTelemetry globals when it is nil.
func newObserver(cfg Config, consumer jetstream.Consumer, breakers *breakers) (*observer, error) {
	o := &observer{}
	if tel := cfg.Telemetry; tel != nil {
		o.tracer, o.meter = tel.Tracer(instrumentationName), tel.Meter(instrumentationName)
	} else {
		o.tracer, o.meter = otel.Tracer(instrumentationName), otel.Meter(instrumentationName)
	}
	if err := o.createInstruments(); err != nil {
		return nil, fmt.Errorf("delivery: create metrics: %w", err)
	}
	if err := o.observeCircuits(breakers); err != nil {
		return nil, fmt.Errorf("delivery: create metrics: %w", err)
	}
	o.lag = telemetry.NewConsumerLag(consumer, cfg.Topology.Stream(streams.Deliveries), ConsumerName)
	if err := o.lag.Register(o.meter); err != nil {
		return nil, fmt.Errorf("delivery: create metrics: %w", err)
	}
	return o, nil
}

func (o *observer) createInstruments() error {
	counters := []struct {
		counter                 *metric.Int64Counter
		name, unit, description string
	}{
		{&o.deliveries, "switchyard.delivery.deliveries", "{delivery}",
			"Deliveries finished, by destination, outcome (delivered, dead_lettered or failed) " +
				"and status class of the last response."},
		{&o.attempts, "switchyard.delivery.attempts", "{attempt}",
			"HTTP calls made, by destination, status class and result (success, retry or fail)."},
		{&o.deadLetters, "switchyard.delivery.dead_letters", "{delivery}",
			"Dead letters stored, by destination and error code."},
		{&o.redrives, "switchyard.delivery.redrives", "{delivery}",
			"First attempts of redriven tasks, by destination."},
		{&o.cacheLookups, "switchyard.delivery.destination_cache.lookups", "{lookup}",
			"Lookups of the in-process destination cache, by result (hit or miss)."},
	}
	for _, c := range counters {
		var err error
		*c.counter, err = o.meter.Int64Counter(c.name,
			metric.WithUnit(c.unit), metric.WithDescription(c.description))
		if err != nil {
			return err
		}
	}

	var err error
	o.latency, err = o.meter.Float64Histogram("switchyard.delivery.latency",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(latencyBuckets...),
		metric.WithDescription("Time from ingest to a successful call, by destination."))
	if err != nil {
		return err
	}
	o.callDurations, err = o.meter.Float64Histogram("switchyard.delivery.http.duration",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(callBuckets...),
		metric.WithDescription("Duration of HTTP calls to destinations, by destination."))
	return err
}

// observeCircuits reports, at each collection, 1 for every destination
// whose breaker in this replica is open or half-open, with the state.
// A destination with a closed breaker has no series, so an alert can
// fire on any series at all.
func (o *observer) observeCircuits(b *breakers) error {
	gauge, err := o.meter.Int64ObservableGauge("switchyard.delivery.circuit.state",
		metric.WithUnit("{circuit}"),
		metric.WithDescription("Circuit breakers of this replica that are not closed, "+
			"by destination and state (OPEN or HALF_OPEN)."))
	if err != nil {
		return err
	}
	_, err = o.meter.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		for dest, state := range b.notClosed() {
			obs.ObserveInt64(gauge, 1, metric.WithAttributes(
				attribute.String("destination", dest),
				attribute.String("state", stateName(state))))
		}
		return nil
	}, gauge)
	return err
}

// startProcess starts the span of handling one message of a task,
// continuing the trace context in its headers, and counts whether its
// destination is cached. The count peeks at the cache just before get
// does, so an entry expiring in between counts as a hit.
func (s *Service) startProcess(ctx context.Context, j job) (context.Context, trace.Span) {
	ctx = tracePropagator.Extract(ctx, telemetry.HeaderCarrier(j.msg.Headers()))
	t := j.task
	ctx, span := s.obs.tracer.Start(ctx, "delivery.process",
		trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("cloudevents.event_id", t.GetEventId()),
			attribute.String("switchyard.bus", t.GetBus()),
			attribute.String("switchyard.rule", t.GetRule()),
			attribute.String("switchyard.target", t.GetTargetId()),
			attribute.String("switchyard.destination", t.GetApiDestination()),
			attribute.Int64("messaging.message.delivery_count", int64(j.meta.NumDelivered)))
	}

	result := "miss"
	if s.cache.peek(t.GetApiDestination()) != nil {
		result = "hit"
	}
	s.obs.cacheLookups.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
	return ctx, span
}

// startAttempt starts the span of one HTTP call. The otelhttp transport
// adds its client span under it.
func (s *Service) startAttempt(ctx context.Context, number int) (context.Context, trace.Span) {
	return s.obs.tracer.Start(ctx, "delivery.attempt",
		trace.WithAttributes(attribute.Int("switchyard.attempt", number)))
}

// endAttempt ends an attempt's span and records its metrics.
func (s *Service) endAttempt(ctx context.Context, span trace.Span,
	task *internalv1.DeliveryTask, res attemptResult) {
	dest := attribute.String("destination", task.GetApiDestination())
	span.SetAttributes(
		attribute.Int("http.response.status_code", res.status),
		attribute.String("switchyard.outcome", res.outcome.Code))
	if res.outcome.Kind != retry.Success {
		span.SetStatus(codes.Error, res.outcome.Code)
	}
	span.End()

	s.obs.attempts.Add(ctx, 1, metric.WithAttributes(dest,
		attribute.String("status_class", statusClass(res.status)),
		attribute.String("result", outcomeResult(res.outcome.Kind))))
	s.obs.callDurations.Record(ctx, res.duration.Seconds(), metric.WithAttributes(dest))
	if res.number == 1 && task.GetRedriven() {
		s.obs.redrives.Add(ctx, 1, metric.WithAttributes(dest))
	}
}

// observeDelivered counts a delivered task and its latency from ingest.
func (s *Service) observeDelivered(d *delivery, last attemptResult) {
	ctx := d.spanContext()
	dest := attribute.String("destination", d.task.GetApiDestination())
	s.obs.deliveries.Add(ctx, 1, metric.WithAttributes(dest,
		attribute.String("outcome", "delivered"),
		attribute.String("status_class", statusClass(last.status))))
	if ingest := d.task.GetIngestTime(); ingest != nil {
		latency := time.Since(ingest.AsTime()).Seconds()
		s.obs.latency.Record(ctx, latency, metric.WithAttributes(dest))
	}
}

// observeFailed counts a task that failed for good, dead-lettered when
// its target keeps dead letters.
func (s *Service) observeFailed(d *delivery, o retry.Outcome) {
	ctx := d.spanContext()
	dest := attribute.String("destination", d.task.GetApiDestination())
	outcome := "failed"
	if d.task.GetDeadLetter() {
		outcome = "dead_lettered"
		s.obs.deadLetters.Add(ctx, 1, metric.WithAttributes(dest, attribute.String("code", o.Code)))
	}
	status := 0
	if n := len(d.attempts); n > 0 {
		status = d.attempts[n-1].status
	}
	s.obs.deliveries.Add(ctx, 1, metric.WithAttributes(dest,
		attribute.String("outcome", outcome),
		attribute.String("status_class", statusClass(status))))

	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.String("switchyard.outcome", outcome))
	span.SetStatus(codes.Error, o.Code)
}

// startDeadLetter starts the span of storing a dead letter, under the
// task's processing span.
func (s *Service) startDeadLetter(d *delivery, o retry.Outcome) (context.Context, trace.Span) {
	return s.obs.tracer.Start(d.spanContext(), "delivery.dead_letter",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("switchyard.error_code", o.Code)))
}

// endSpan ends span, marking it failed when err is set.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// injectTrace writes the trace context of ctx into a message header.
func injectTrace(ctx context.Context, h nats.Header) {
	tracePropagator.Inject(ctx, telemetry.HeaderCarrier(h))
}

// spanContext returns a context that carries only the delivery's
// processing span. Bookkeeping runs on contexts of its own, so it takes
// the span from here for its logs and child spans.
func (d *delivery) spanContext() context.Context {
	return trace.ContextWithSpan(context.Background(), d.span)
}

// statusClass groups a status code as "2xx" to "5xx", or "none" when no
// response came.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return strconv.Itoa(status/100) + "xx"
}

func outcomeResult(k retry.Kind) string {
	switch k {
	case retry.Success:
		return "success"
	case retry.Retry:
		return "retry"
	}
	return "fail"
}

// spanLogger returns a logger whose records carry the trace and span ids
// of ctx's span when they are logged without a span of their own, so the
// calls of a delivery need not each pass a context.
func spanLogger(ctx context.Context, log *slog.Logger) *slog.Logger {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return log
	}
	return slog.New(spanHandler{next: log.Handler(), span: trace.SpanFromContext(ctx)})
}

// spanHandler passes records on with its span in their context, unless
// the record's own context already contains a valid span.
type spanHandler struct {
	next slog.Handler
	span trace.Span
}

func (h spanHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h spanHandler) Handle(ctx context.Context, r slog.Record) error {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = trace.ContextWithSpan(ctx, h.span)
	}
	return h.next.Handle(ctx, r)
}

func (h spanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return spanHandler{next: h.next.WithAttrs(attrs), span: h.span}
}

func (h spanHandler) WithGroup(name string) slog.Handler {
	return spanHandler{next: h.next.WithGroup(name), span: h.span}
}

// tracedTransport gives each outbound request a client span and W3C
// trace context headers through otelhttp, and leaves the base
// transport's dialer, and so the network guard, in charge of every
// connection.
//
// otelhttp records the request URL on the span, and a connection's
// query parameters may be secrets. So otelhttp sees the URL without its
// query and user info, and wireTransport, between otelhttp and the base
// transport, sends the request with the full URL.
type tracedTransport struct {
	traced http.RoundTripper
	base   *http.Transport
}

func traceTransport(base *http.Transport) http.RoundTripper {
	return tracedTransport{
		traced: telemetry.HTTPTransport(wireTransport{base: base}),
		base:   base,
	}
}

// fullURLKey is the context key of the URL that otelhttp does not see.
type fullURLKey struct{}

// RoundTrip passes a copy of r with the query and user info removed
// from its URL to otelhttp.
func (t tracedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.RawQuery == "" && r.URL.User == nil {
		return t.traced.RoundTrip(r)
	}
	hidden := *r.URL
	hidden.RawQuery, hidden.User = "", nil
	stripped := r.WithContext(context.WithValue(r.Context(), fullURLKey{}, r.URL))
	stripped.URL = &hidden
	return t.traced.RoundTrip(stripped)
}

// CloseIdleConnections closes the base transport's idle connections,
// which http.Client.CloseIdleConnections does not reach through
// otelhttp.
func (t tracedTransport) CloseIdleConnections() {
	t.base.CloseIdleConnections()
}

// wireTransport prepares the request that otelhttp passes on for the
// base transport: it puts back the URL that tracedTransport hid, and
// reads the body into memory.
type wireTransport struct {
	base http.RoundTripper
}

func (t wireTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.WithContext(r.Context())
	if full, ok := r.Context().Value(fullURLKey{}).(*url.URL); ok {
		r.URL = full
	}
	if err := bufferBody(r); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(r)
}

// bufferBody replaces r's body with a bytes.Reader over its content.
// otelhttp wraps the body in a type that net/http does not know to be
// in memory, and net/http then flushes the headers before it reads the
// body, so each request costs two writes instead of one. Reading the
// wrapped body to the end and closing it still lets otelhttp record the
// request size. r must be a copy that the caller may change.
func bufferBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(r.Body)
	closeErr := r.Body.Close()
	if err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	// net/http takes a length of 0 with a body other than NoBody for an
	// unknown length.
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) {
		if len(b) == 0 {
			return http.NoBody, nil
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	r.Body, _ = r.GetBody()
	return nil
}
