package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/services/config"
)

func TestRunNeedsKeyAndToken(t *testing.T) {
	t.Setenv(config.EnvSecretKey, "")
	t.Setenv(config.EnvInternalToken, "")
	err := run(context.Background(), nil)
	if err == nil {
		t.Fatal("run without key and token = nil, want an error")
	}
	for _, want := range []string{
		config.EnvSecretKey, "--secret-key-file", config.EnvInternalToken, "--internal-token-file",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestRunServesAndStops(t *testing.T) {
	server := natstest.Start(t)
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	if _, err := config.LoadKey("", keyFile, true); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.EnvSecretKey, "")
	t.Setenv(config.EnvInternalToken, "token-from-env")
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--listen", addr, "--nats-url", server.URL, "--prefix", server.Topology.Prefix,
			"--secret-key-file", keyFile, "--log-format", "json",
			"--metrics-listen", "127.0.0.1:0",
		})
	}()

	conn, err := configclient.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health = %v, %v; want SERVING", resp.GetStatus(), err)
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestParseFlagsRejectsLogFormat(t *testing.T) {
	if _, err := parseFlags([]string{"--log-format", "xml"}); err == nil {
		t.Error("parseFlags(--log-format xml) = nil, want an error")
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}
