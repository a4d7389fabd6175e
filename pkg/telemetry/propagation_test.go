package telemetry

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

func TestInjectExtractOverNATS(t *testing.T) {
	setup(t, Config{SpanExporter: tracetest.NewInMemoryExporter()}, nil)
	nc := natstest.Start(t).Connect(t)
	subject := "telemetry.test.propagation"
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	member, err := baggage.NewMember("tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	ctx := baggage.ContextWithBaggage(context.Background(), bag)
	ctx, span := otel.Tracer("test").Start(ctx, "publish")
	defer span.End()
	msg := nats.NewMsg(subject)
	Inject(ctx, msg.Header)
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}

	got, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("NextMsg() error = %v", err)
	}
	remote := trace.SpanContextFromContext(Extract(context.Background(), got.Header))

	want := span.SpanContext()
	if remote.TraceID() != want.TraceID() {
		t.Errorf("extracted trace id = %s, want %s", remote.TraceID(), want.TraceID())
	}
	if remote.SpanID() != want.SpanID() {
		t.Errorf("extracted span id = %s, want %s", remote.SpanID(), want.SpanID())
	}
	if !remote.IsRemote() {
		t.Errorf("extracted span context IsRemote() = false, want true")
	}
	gotBag := baggage.FromContext(Extract(context.Background(), got.Header))
	if v := gotBag.Member("tenant").Value(); v != "acme" {
		t.Errorf("extracted baggage tenant = %q, want %q", v, "acme")
	}
}

func TestExtractWithoutTraceContext(t *testing.T) {
	setup(t, Config{}, nil)

	for name, h := range map[string]nats.Header{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			ctx := Extract(context.Background(), h)

			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				t.Errorf("Extract(%s header) span context = %v, want invalid", name, sc)
			}
		})
	}
}

func TestHeaderCarrier(t *testing.T) {
	h := nats.Header{"Nats-Msg-Id": {"id-1"}}
	c := HeaderCarrier(h)

	c.Set("traceparent", "value")

	if got := h.Get("traceparent"); got != "value" {
		t.Errorf(`header "traceparent" = %q, want "value"`, got)
	}
	if got := c.Get("Traceparent"); got != "" {
		t.Errorf(`Get("Traceparent") = %q, want "" because NATS headers are case-sensitive`, got)
	}
	keys := c.Keys()
	slices.Sort(keys)
	if want := []string{"Nats-Msg-Id", "traceparent"}; !slices.Equal(keys, want) {
		t.Errorf("Keys() = %q, want %q", keys, want)
	}
}

func TestCloudEventTraceparentRoundTrip(t *testing.T) {
	ctx, end := startSpan(t)
	defer end()
	want := trace.SpanContextFromContext(ctx)

	traceparent, tracestate := CloudEventTraceparent(ctx)
	got := trace.SpanContextFromContext(
		ExtractCloudEventTraceparent(context.Background(), traceparent, tracestate))

	if got.TraceID() != want.TraceID() {
		t.Errorf("trace id = %s, want %s", got.TraceID(), want.TraceID())
	}
	if got.SpanID() != want.SpanID() {
		t.Errorf("span id = %s, want %s", got.SpanID(), want.SpanID())
	}
	if got.TraceFlags() != want.TraceFlags() {
		t.Errorf("trace flags = %s, want %s", got.TraceFlags(), want.TraceFlags())
	}
}

func TestExtractCloudEventTraceparent(t *testing.T) {
	tests := []struct {
		name        string
		traceparent string
		tracestate  string
		wantTraceID string
		wantState   string
	}{
		{
			name:        "valid with state",
			traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			tracestate:  "vendor=value",
			wantTraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
			wantState:   "vendor=value",
		},
		{
			name:        "valid without state",
			traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
			wantTraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		},
		{name: "empty"},
		{name: "malformed", traceparent: "00-not-a-trace-01"},
		{
			name:        "zero trace id",
			traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ExtractCloudEventTraceparent(context.Background(), tt.traceparent, tt.tracestate)
			sc := trace.SpanContextFromContext(ctx)

			if tt.wantTraceID == "" {
				if sc.IsValid() {
					t.Errorf("span context = %v, want invalid", sc)
				}
				return
			}
			if got := sc.TraceID().String(); got != tt.wantTraceID {
				t.Errorf("trace id = %s, want %s", got, tt.wantTraceID)
			}
			if got := sc.TraceState().String(); got != tt.wantState {
				t.Errorf("trace state = %q, want %q", got, tt.wantState)
			}
		})
	}
}
