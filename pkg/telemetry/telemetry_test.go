package telemetry

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// otelEnv lists every variable Setup or the exporters read that could
// turn tracing on or change its target, so each test starts clean
// whatever the machine's environment holds.
var otelEnv = []string{
	envSDKDisabled, envTracesExporter, envEndpoint, envTracesEndpoint,
	envProtocol, envTracesProtocol, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_INSECURE",
	"OTEL_EXPORTER_OTLP_TRACES_INSECURE",
}

func clearOTELEnv(t *testing.T) {
	t.Helper()
	for _, name := range otelEnv {
		t.Setenv(name, "")
	}
}

// setup runs Setup with a clean environment plus env, and shuts the
// Telemetry down at the end of the test.
func setup(t *testing.T, cfg Config, env map[string]string) *Telemetry {
	t.Helper()
	clearOTELEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "telemetry-test"
	}
	tel, err := Setup(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Setup() error = %v", err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

func TestSetupWithoutEnvLeavesTracingOff(t *testing.T) {
	tel := setup(t, Config{}, nil)

	if tel.TracingEnabled() {
		t.Errorf("TracingEnabled() = true, want false")
	}
	tracers := map[string]func() (context.Context, bool){
		"Telemetry.Tracer": func() (context.Context, bool) {
			ctx, span := tel.Tracer("test").Start(context.Background(), "op")
			defer span.End()
			return ctx, span.IsRecording()
		},
		"otel.Tracer": func() (context.Context, bool) {
			ctx, span := otel.Tracer("test").Start(context.Background(), "op")
			defer span.End()
			return ctx, span.IsRecording()
		},
	}
	for name, start := range tracers {
		t.Run(name, func(t *testing.T) {
			ctx, recording := start()
			if recording {
				t.Errorf("span.IsRecording() = true, want false")
			}
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				t.Errorf("span context = %v, want invalid", sc)
			}
		})
	}
}

func TestSetupRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		env      map[string]string
		wantText []string
	}{
		{
			name:     "missing service name",
			cfg:      Config{},
			wantText: []string{"service name"},
		},
		{
			name:     "unknown exporter",
			cfg:      Config{ServiceName: "svc"},
			env:      map[string]string{envTracesExporter: "otlp,zipkin"},
			wantText: []string{`"zipkin"`, "otlp, console or none"},
		},
		{
			name: "unsupported protocol",
			cfg:  Config{ServiceName: "svc"},
			env: map[string]string{
				envEndpoint: "http://127.0.0.1:1",
				envProtocol: "http/json",
			},
			wantText: []string{`"http/json"`, "grpc or http/protobuf"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTELEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}

			tel, err := Setup(t.Context(), tt.cfg)
			if err == nil {
				_ = tel.Shutdown(context.Background())
				t.Fatalf("Setup() error = nil, want an error")
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Setup() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestSetupTracingSwitch(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"no variables", nil, false},
		{"endpoint", map[string]string{envEndpoint: "http://127.0.0.1:1"}, true},
		{"traces endpoint", map[string]string{envTracesEndpoint: "http://127.0.0.1:1"}, true},
		{"exporter otlp", map[string]string{envTracesExporter: "otlp"}, true},
		{"exporter console", map[string]string{envTracesExporter: "console"}, true},
		{"exporter none beats endpoint", map[string]string{
			envTracesExporter: "none",
			envEndpoint:       "http://127.0.0.1:1",
		}, false},
		{"sdk disabled beats endpoint", map[string]string{
			envSDKDisabled: "true",
			envEndpoint:    "http://127.0.0.1:1",
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := setup(t, Config{ConsoleOutput: io.Discard}, tt.env)

			if got := tel.TracingEnabled(); got != tt.want {
				t.Errorf("TracingEnabled() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSetupConsoleExporter(t *testing.T) {
	var out syncBuffer
	tel := setup(t, Config{ConsoleOutput: &out}, map[string]string{envTracesExporter: "console"})

	_, span := otel.Tracer("test").Start(context.Background(), "console-op")
	traceID := span.SpanContext().TraceID().String()
	span.End()
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}

	got := out.String()
	if !strings.Contains(got, "console-op") {
		t.Errorf("console output = %q, want the span name console-op", got)
	}
	if !strings.Contains(got, traceID) {
		t.Errorf("console output = %q, want trace id %s", got, traceID)
	}
}

func TestSetupOTLPHTTPExporter(t *testing.T) {
	tests := []struct {
		name     string
		env      func(url string) map[string]string
		wantPath string
	}{
		{
			name: "endpoint",
			env: func(url string) map[string]string {
				return map[string]string{envEndpoint: url, envProtocol: "http/protobuf"}
			},
			wantPath: "/v1/traces",
		},
		{
			name: "traces endpoint and protocol",
			env: func(url string) map[string]string {
				return map[string]string{
					envTracesEndpoint: url + "/custom/traces",
					envTracesProtocol: "http/protobuf",
					envProtocol:       "grpc",
				}
			},
			wantPath: "/custom/traces",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			collector := newHTTPCollector(t)
			env := tt.env(collector.server.URL)
			env["OTEL_SERVICE_NAME"] = "from-env"
			tel := setup(t, Config{ServiceName: "from-config"}, env)

			_, span := otel.Tracer("test").Start(context.Background(), "http-op")
			span.End()
			if err := tel.Shutdown(t.Context()); err != nil {
				t.Fatalf("Shutdown() error = %v", err)
			}

			req := collector.request(t)
			if req.path != tt.wantPath {
				t.Errorf("collector request path = %q, want %q", req.path, tt.wantPath)
			}
			if req.method != http.MethodPost {
				t.Errorf("collector request method = %q, want POST", req.method)
			}
			checkExport(t, req.body, "from-env", "http-op")
		})
	}
}

func TestSetupOTLPGRPCExporter(t *testing.T) {
	collector := newGRPCCollector(t)
	tel := setup(t, Config{ServiceName: "grpc-svc"}, map[string]string{
		envEndpoint: "http://" + collector.addr,
	})

	_, span := otel.Tracer("test").Start(context.Background(), "grpc-op")
	span.End()
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}

	body := collector.request(t)
	checkExport(t, body, "grpc-svc", "grpc-op")
}

func TestShutdownRestoresNoopGlobals(t *testing.T) {
	tel := setup(t, Config{SpanExporter: tracetest.NewInMemoryExporter()}, nil)
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}

	_, span := otel.Tracer("test").Start(context.Background(), "after")
	if span.IsRecording() {
		t.Errorf("span.IsRecording() after Shutdown = true, want false")
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Errorf("second Shutdown() error = %v, want nil", err)
	}
}

// checkExport decodes an OTLP export request and checks that it
// contains one span named spanName from service serviceName.
func checkExport(t *testing.T, body []byte, serviceName, spanName string) {
	t.Helper()
	var export collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &export); err != nil {
		t.Fatalf("decode export request: %v", err)
	}

	var services, spans []string
	for _, rs := range export.GetResourceSpans() {
		services = append(services, resourceServiceName(rs))
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				spans = append(spans, s.GetName())
			}
		}
	}
	if len(services) != 1 || services[0] != serviceName {
		t.Errorf("exported service names = %q, want [%q]", services, serviceName)
	}
	if len(spans) != 1 || spans[0] != spanName {
		t.Errorf("exported span names = %q, want [%q]", spans, spanName)
	}
}

func resourceServiceName(rs *tracepb.ResourceSpans) string {
	for _, kv := range rs.GetResource().GetAttributes() {
		if kv.GetKey() == "service.name" {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

type collectedRequest struct {
	method, path string
	body         []byte
}

// httpCollector is an OTLP/HTTP collector on 127.0.0.1 that keeps the
// requests it receives.
type httpCollector struct {
	server   *httptest.Server
	requests chan collectedRequest
}

func newHTTPCollector(t *testing.T) *httpCollector {
	t.Helper()
	c := &httpCollector{requests: make(chan collectedRequest, 16)}
	c.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.requests <- collectedRequest{method: r.Method, path: r.URL.Path, body: body}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(c.server.Close)
	return c
}

// request returns the first request. The exporter sends synchronously
// during Shutdown, so the request is already queued when this runs.
func (c *httpCollector) request(t *testing.T) collectedRequest {
	t.Helper()
	select {
	case req := <-c.requests:
		return req
	default:
		t.Fatalf("collector received no request")
		return collectedRequest{}
	}
}

// grpcCollector is an OTLP/gRPC collector on 127.0.0.1 that keeps the
// encoded export requests it receives.
type grpcCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	addr     string
	requests chan []byte
}

func newGRPCCollector(t *testing.T) *grpcCollector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &grpcCollector{addr: lis.Addr().String(), requests: make(chan []byte, 16)}
	server := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(server, c)
	go func() { _ = server.Serve(lis) }()
	t.Cleanup(server.Stop)
	return c
}

func (c *grpcCollector) Export(
	_ context.Context, req *collectortrace.ExportTraceServiceRequest,
) (*collectortrace.ExportTraceServiceResponse, error) {
	body, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	c.requests <- body
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *grpcCollector) request(t *testing.T) []byte {
	t.Helper()
	select {
	case body := <-c.requests:
		return body
	default:
		t.Fatalf("collector received no export request")
		return nil
	}
}

// syncBuffer is a bytes.Buffer that the exporter goroutine and the test
// can use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
