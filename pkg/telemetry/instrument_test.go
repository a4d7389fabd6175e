package telemetry

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// recordingHealthServer keeps the span context each Check runs in.
type recordingHealthServer struct {
	*health.Server
	seen chan trace.SpanContext
}

func (s *recordingHealthServer) Check(
	ctx context.Context, req *healthpb.HealthCheckRequest,
) (*healthpb.HealthCheckResponse, error) {
	s.seen <- trace.SpanContextFromContext(ctx)
	return s.Server.Check(ctx, req)
}

// startGRPC serves a health service with GRPCServerOption on 127.0.0.1
// and returns a client dialed with GRPCDialOption.
func startGRPC(t *testing.T) (healthpb.HealthClient, *recordingHealthServer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer(GRPCServerOption())
	recorder := &recordingHealthServer{Server: health.NewServer(), seen: make(chan trace.SpanContext, 1)}
	healthpb.RegisterHealthServer(server, recorder)
	go func() { _ = server.Serve(lis) }()
	t.Cleanup(server.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		GRPCDialOption(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn), recorder
}

// startHTTP serves a handler wrapped by HTTPHandler on 127.0.0.1 that
// sends the span context of each request on the returned channel.
func startHTTP(t *testing.T) (*httptest.Server, chan trace.SpanContext) {
	t.Helper()
	seen := make(chan trace.SpanContext, 1)
	h := HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}), "test-endpoint")
	server := httptest.NewServer(h)
	t.Cleanup(server.Close)
	return server, seen
}

func httpGet(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	client := &http.Client{Transport: HTTPTransport(nil)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s error = %v", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET %s status = %d, want 204", url, resp.StatusCode)
	}
}

func TestInstrumentationWithTracingOff(t *testing.T) {
	setup(t, Config{}, nil)
	ctx, span := otel.Tracer("test").Start(t.Context(), "parent")
	defer span.End()

	t.Run("grpc", func(t *testing.T) {
		client, recorder := startGRPC(t)

		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("Check() error = %v", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check() status = %v, want SERVING", resp.GetStatus())
		}
		if sc := <-recorder.seen; sc.IsValid() {
			t.Errorf("server span context = %v, want invalid", sc)
		}
	})

	t.Run("http", func(t *testing.T) {
		server, seen := startHTTP(t)

		httpGet(t, ctx, server.URL)
		if sc := <-seen; sc.IsValid() {
			t.Errorf("server span context = %v, want invalid", sc)
		}
	})
}

func TestInstrumentationWithTracingOn(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tel := setup(t, Config{SpanExporter: exporter}, nil)
	ctx, span := otel.Tracer("test").Start(t.Context(), "parent")
	defer span.End()
	traceID := span.SpanContext().TraceID()

	t.Run("grpc", func(t *testing.T) {
		client, recorder := startGRPC(t)

		if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("Check() error = %v", err)
		}
		if got := (<-recorder.seen).TraceID(); got != traceID {
			t.Errorf("server trace id = %s, want %s", got, traceID)
		}
	})

	t.Run("http", func(t *testing.T) {
		server, seen := startHTTP(t)

		httpGet(t, ctx, server.URL)
		if got := (<-seen).TraceID(); got != traceID {
			t.Errorf("server trace id = %s, want %s", got, traceID)
		}
	})

	if err := tel.sdkTracerProvider.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	kinds := map[trace.SpanKind]int{}
	for _, s := range exporter.GetSpans() {
		if s.SpanContext.TraceID() == traceID {
			kinds[s.SpanKind]++
		}
	}
	if kinds[trace.SpanKindClient] != 2 || kinds[trace.SpanKindServer] != 2 {
		t.Errorf("spans in the trace by kind = %v, want 2 client and 2 server", kinds)
	}

	_, body := get(t, tel.Handler(), "/metrics")
	for _, want := range []string{"rpc_server_", "http_server_request_duration_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics body lacks %q", want)
		}
	}
}
