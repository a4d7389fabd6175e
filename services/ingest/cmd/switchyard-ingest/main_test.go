package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

func TestParseFlagsEnvironment(t *testing.T) {
	for _, key := range []string{"SWITCHYARD_INGEST_LISTEN", "NATS_URL", "SWITCHYARD_SERVER", "SWITCHYARD_PREFIX",
		"SWITCHYARD_METRICS_LISTEN", "SWITCHYARD_REPLICAS"} {
		t.Setenv(key, "")
	}
	t.Setenv("SWITCHYARD_INGEST_LISTEN", "127.0.0.1:7799")
	t.Setenv("SWITCHYARD_PREFIX", "staging")
	t.Setenv("SWITCHYARD_REPLICAS", "3")

	got, err := parseFlags([]string{"--server", "127.0.0.1:9999"})
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	want := options{
		replicas:  3,
		listen:    "127.0.0.1:7799",
		metrics:   "127.0.0.1:7712",
		natsURL:   "nats://127.0.0.1:4222",
		server:    "127.0.0.1:9999",
		prefix:    "staging",
		logFormat: "text",
	}
	if got != want {
		t.Errorf("parseFlags = %+v, want %+v", got, want)
	}
}

func TestParseFlagsRejectsLogFormat(t *testing.T) {
	if _, err := parseFlags([]string{"--log-format", "xml"}); err == nil {
		t.Error("parseFlags(--log-format xml) = nil error, want one")
	}
}

func TestParseFlagsRejectsReplicas(t *testing.T) {
	t.Setenv("SWITCHYARD_REPLICAS", "")
	_, err := parseFlags([]string{"--replicas", "7"})
	if err == nil || !strings.Contains(err.Error(), "--replicas 7") {
		t.Errorf("parseFlags(--replicas 7) = %v, want an error naming the flag and value", err)
	}
}

func TestRunStoppedDuringStartup(t *testing.T) {
	ns := natstest.Start(t)
	// A stop signal that arrives during start-up ends the context
	// while New still sets up streams and consumers.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", ns.URL, "--prefix", ns.Topology.Prefix,
			"--server", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() with a cancelled context = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run() with a cancelled context did not return")
	}
}
