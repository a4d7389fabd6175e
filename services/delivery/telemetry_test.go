package delivery

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// writeCounter counts the writes of every connection its dialer makes.
type writeCounter struct {
	writes atomic.Int64
}

func (c *writeCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countedConn{Conn: conn, counter: c}, nil
}

type countedConn struct {
	net.Conn
	counter *writeCounter
}

func (c countedConn) Write(p []byte) (int, error) {
	c.counter.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTracedTransportWritesRequestOnce checks that a request with a body
// of 1 KB leaves in one write, with its Content-Length, although
// otelhttp wraps the body in a type that net/http would flush the
// headers ahead of.
func TestTracedTransportWritesRequestOnce(t *testing.T) {
	body := strings.Repeat("x", 1024)
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil || string(got) != body || r.ContentLength != int64(len(body)) {
			t.Errorf("server got %d bytes (Content-Length %d, error %v), want the %d sent",
				len(got), r.ContentLength, err, len(body))
		}
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var counter writeCounter
	base := &http.Transport{DialContext: counter.dial}
	client := &http.Client{Transport: traceTransport(base)}
	defer client.CloseIdleConnections()

	// The second URL has a query, which takes the path that hides it
	// from otelhttp.
	urls := []string{srv.URL + "/hook", srv.URL + "/hook?key=s3cr3t"}
	const requests = 6
	for i := range requests {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
			urls[i%len(urls)], strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	if got := received.Load(); got != requests {
		t.Fatalf("server received %d requests, want %d", got, requests)
	}
	if got := counter.writes.Load(); got != requests {
		t.Errorf("client made %d writes for %d requests, want one each", got, requests)
	}
}
