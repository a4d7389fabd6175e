package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

// get sends a GET for path to h and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	return getWithContext(t, context.Background(), h, path)
}

func getWithContext(t *testing.T, ctx context.Context, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	h.ServeHTTP(rec, req)
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(body)
}

func TestHandlerMetricsServesCounter(t *testing.T) {
	tel := setup(t, Config{ServiceName: "metrics-svc"}, map[string]string{
		"OTEL_SERVICE_NAME": "metrics-env",
	})
	counter, err := tel.Meter("test").Int64Counter("switchyard.test.events")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(t.Context(), 3)

	code, body := get(t, tel.Handler(), "/metrics")

	if code != http.StatusOK {
		t.Fatalf("GET /metrics status = %d, want 200", code)
	}
	for _, want := range []string{
		"switchyard_test_events_total{",
		`service_name="metrics-env"`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics body lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(body, "} 3\n") {
		t.Errorf("GET /metrics body lacks the counter value 3:\n%s", body)
	}
}

func TestHandlerHealthz(t *testing.T) {
	tel := setup(t, Config{}, nil)
	tel.AddReadinessCheck("down", func(context.Context) error { return errors.New("down") })

	code, body := get(t, tel.Handler(), "/healthz")

	if code != http.StatusOK {
		t.Errorf("GET /healthz status = %d, want 200", code)
	}
	if body != "ok\n" {
		t.Errorf("GET /healthz body = %q, want %q", body, "ok\n")
	}
}

func TestHandlerReadyz(t *testing.T) {
	pass := func(context.Context) error { return nil }
	fail := func(context.Context) error { return errors.New("dial nats://user:secret@host") }
	type check struct {
		name string
		fn   func(context.Context) error
	}
	tests := []struct {
		name     string
		checks   []check
		wantCode int
		wantBody string
	}{
		{"no checks", nil, http.StatusOK, "ok\n"},
		{"passing check", []check{{"nats", pass}}, http.StatusOK, "ok\n"},
		{
			name:     "failing check",
			checks:   []check{{"nats", pass}, {"redis", fail}},
			wantCode: http.StatusServiceUnavailable,
			wantBody: "not ready: redis\n",
		},
		{
			name:     "failing checks sorted and distinct",
			checks:   []check{{"redis", fail}, {"config", fail}, {"redis", fail}},
			wantCode: http.StatusServiceUnavailable,
			wantBody: "not ready: config, redis\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := setup(t, Config{}, nil)
			for _, c := range tt.checks {
				tel.AddReadinessCheck(c.name, c.fn)
			}

			code, body := get(t, tel.Handler(), "/readyz")

			if code != tt.wantCode {
				t.Errorf("GET /readyz status = %d, want %d", code, tt.wantCode)
			}
			if body != tt.wantBody {
				t.Errorf("GET /readyz body = %q, want %q", body, tt.wantBody)
			}
			if strings.Contains(body, "secret") {
				t.Errorf("GET /readyz body = %q, leaks a check error", body)
			}
		})
	}
}

func TestHandlerReadyzStuckCheck(t *testing.T) {
	tel := setup(t, Config{}, nil)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tel.AddReadinessCheck("stuck", func(context.Context) error {
		<-release
		return nil
	})
	tel.AddReadinessCheck("fine", func(context.Context) error { return nil })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	code, body := getWithContext(t, ctx, tel.Handler(), "/readyz")

	if code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz status = %d, want 503", code)
	}
	if body != "not ready: stuck\n" {
		t.Errorf("GET /readyz body = %q, want %q", body, "not ready: stuck\n")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("GET /readyz took %v, want it to end with the request context", elapsed)
	}
}

func TestNATSReady(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	check := NATSReady(nc)

	if err := check(t.Context()); err != nil {
		t.Errorf("check on a connected client = %v, want nil", err)
	}

	nc.Close()
	err := check(t.Context())
	if err == nil {
		t.Fatalf("check on a closed client = nil, want an error")
	}
	if !strings.Contains(err.Error(), nats.CLOSED.String()) {
		t.Errorf("check on a closed client = %q, want it to name status %s", err, nats.CLOSED)
	}

	if err := NATSReady(nil)(t.Context()); err == nil {
		t.Errorf("check on a nil client = nil, want an error")
	}
}
