package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestTracedTransportHidesQueryFromSpan(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer provider.Shutdown(context.Background())
	ctx, parent := provider.Tracer("test").Start(context.Background(), "attempt")

	base := &http.Transport{}
	client := &http.Client{Transport: traceTransport(base)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/hook?key=s3cr3t", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()
	client.CloseIdleConnections()

	if gotQuery != "key=s3cr3t" {
		t.Errorf("server got query %q, want %q", gotQuery, "key=s3cr3t")
	}
	var clientSpans int
	for _, span := range recorder.Ended() {
		if span.Name() == "attempt" {
			continue
		}
		clientSpans++
		for _, kv := range span.Attributes() {
			if strings.Contains(kv.Value.Emit(), "s3cr3t") {
				t.Errorf("span %q attribute %s = %q, want no query value",
					span.Name(), kv.Key, kv.Value.Emit())
			}
		}
	}
	if clientSpans != 1 {
		t.Errorf("got %d client spans, want 1 from otelhttp", clientSpans)
	}
}

func TestStatusClass(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   string
	}{
		{0, "none"}, {201, "2xx"}, {303, "3xx"}, {404, "4xx"}, {503, "5xx"}, {600, "none"},
	} {
		if got := statusClass(tt.status); got != tt.want {
			t.Errorf("statusClass(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
}
