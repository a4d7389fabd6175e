package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadinessTimeout bounds one /readyz request: a check still running
// after it counts as failed.
const ReadinessTimeout = 5 * time.Second

type readinessCheck struct {
	name  string
	check func(ctx context.Context) error
}

// AddReadinessCheck adds a check that /readyz runs on every request. The
// check returns nil when the component it watches can take work, and
// must return when ctx ends. The name appears in the /readyz response,
// so it must not contain a secret. Services sharing one Telemetry should
// prefix their names, as in "delivery.nats".
func (t *Telemetry) AddReadinessCheck(name string, check func(ctx context.Context) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checks = append(t.checks, readinessCheck{name: name, check: check})
}

// Handler returns the HTTP handler for the observability endpoints:
//
//   - /metrics serves this Telemetry's Prometheus registry.
//   - /healthz returns 200 while the process can serve HTTP at all.
//   - /readyz runs every readiness check concurrently and returns 200,
//     or 503 with the names of the failing checks, one a line. Check
//     errors stay out of the response because they may contain
//     addresses or credentials.
func (t *Telemetry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", t.serveReady)
	return mux
}

func (t *Telemetry) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadinessTimeout)
	defer cancel()

	failed := t.runReadinessChecks(ctx)
	if len(failed) == 0 {
		writeText(w, http.StatusOK, "ok\n")
		return
	}
	writeText(w, http.StatusServiceUnavailable, "not ready: "+strings.Join(failed, ", ")+"\n")
}

// runReadinessChecks returns the sorted, distinct names of the checks
// that failed or did not return before ctx ended.
func (t *Telemetry) runReadinessChecks(ctx context.Context) []string {
	t.mu.Lock()
	checks := slices.Clone(t.checks)
	t.mu.Unlock()

	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { results[i] = runCheck(ctx, c.check) })
	}
	wg.Wait()

	var failed []string
	for i, err := range results {
		if err != nil {
			failed = append(failed, checks[i].name)
		}
	}
	slices.Sort(failed)
	return slices.Compact(failed)
}

// runCheck treats a check that outlives ctx as failed, so one stuck
// check cannot hold /readyz past its timeout. The stuck goroutine ends
// when the check returns.
func runCheck(ctx context.Context, check func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- check(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// NATSReady returns a readiness check that passes while nc is connected.
// It fails while the client reconnects, drains or is closed.
func NATSReady(nc *nats.Conn) func(ctx context.Context) error {
	return func(context.Context) error {
		if nc == nil {
			return errors.New("nats connection is nil")
		}
		if status := nc.Status(); status != nats.CONNECTED {
			return fmt.Errorf("nats connection is %s, want %s", status, nats.CONNECTED)
		}
		return nil
	}
}
