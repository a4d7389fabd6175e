package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	"github.com/switchyard-dev/switchyard/pkg/natsserver"
)

// getText returns the status and body of a GET to url.
func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestDevMetricsCountEvent(t *testing.T) {
	_, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	waitDelivered(t, s.cli, trimLine(r.stdout))

	url := "http://" + s.MetricsAddr().String() + "/metrics"
	// Each series must show up with the labels of this one event. The
	// consumer gauges need the first lag poll, which runs at start.
	want := []string{
		`switchyard_ingest_events_received_total{`,
		`transport="http"`,
		`switchyard_ruleengine_events_matched_total{`,
		`switchyard_ruleengine_rule_matches_total{`,
		`rule="build-on-push"`,
		`switchyard_ruleengine_tasks_published_total{`,
		`switchyard_delivery_attempts_total{`,
		`switchyard_delivery_deliveries_total{`,
		`outcome="delivered"`,
		`status_class="2xx"`,
		`switchyard_delivery_latency_seconds_bucket{`,
		`switchyard_delivery_http_duration_seconds_bucket{`,
		`destination="jenkins-build"`,
		`switchyard_delivery_destination_cache_lookups_total{`,
		`switchyard_consumer_pending{`,
		`stream="DELIVERIES"`,
		`stream="EVENTS"`,
		`stream="INGRESS"`,
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		status, body := getText(t, url)
		if status != http.StatusOK {
			return false, "GET /metrics status " + http.StatusText(status)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false, "/metrics lacks " + w
			}
		}
		return true, ""
	})
}

func TestDevReadyzFailsWithoutNATS(t *testing.T) {
	store := t.TempDir()
	ns, err := natsserver.Start(natsserver.Config{Host: "127.0.0.1", Port: -1, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })

	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.Start(ctx, stack.Config{
		DataDir:       t.TempDir(),
		NATSURL:       ns.ClientURL(),
		ConfigListen:  "127.0.0.1:0",
		IngestListen:  "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0",
		Logger:        testLogger(t),
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stack stopped with %v", err)
		}
		s.Close()
	})

	base := "http://" + s.MetricsAddr().String()
	if status, body := getText(t, base+"/readyz"); status != http.StatusOK {
		t.Fatalf("GET /readyz with NATS up = %d %q, want 200", status, body)
	}

	port := ns.Addr().(*net.TCPAddr).Port
	ns.Shutdown()
	ns.WaitForShutdown()
	var body string
	waitFor(t, 10*time.Second, func() (bool, string) {
		var status int
		status, body = getText(t, base+"/readyz")
		return status == http.StatusServiceUnavailable, "GET /readyz = " + body
	})
	for _, check := range []string{"config.nats", "ingest.nats", "ruleengine.nats", "delivery.nats"} {
		if !strings.Contains(body, check) {
			t.Errorf("GET /readyz body = %q, want it to name %s", body, check)
		}
	}
	if status, _ := getText(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz with NATS down = %d, want 200", status)
	}

	// Back on the same port, the clients reconnect and the stack is
	// ready again.
	ns, err = natsserver.Start(natsserver.Config{Host: "127.0.0.1", Port: port, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() (bool, string) {
		status, body := getText(t, base+"/readyz")
		return status == http.StatusOK, "GET /readyz = " + body
	})
}
