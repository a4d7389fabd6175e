package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/services/delivery"
)

func TestRunStartsAndStops(t *testing.T) {
	ns := natstest.Start(t)
	t.Setenv("SWITCHYARD_INTERNAL_TOKEN", "test-token")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", ns.URL, "--prefix", ns.Topology.Prefix,
			"--server", "127.0.0.1:1", "--metrics-listen", "127.0.0.1:0"})
	}()

	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	stream := ns.Topology.Stream(streams.Deliveries)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := js.Consumer(context.Background(), stream, delivery.ConsumerName); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("consumer %s on %s not created: %v", delivery.ConsumerName, stream, <-done)
		}
		time.Sleep(10 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v, want nil after cancel", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run() did not return after cancel")
	}
}

func TestRunRequiresToken(t *testing.T) {
	t.Setenv("SWITCHYARD_INTERNAL_TOKEN", "")
	// A free metrics port, because run listens before it reads the token.
	args := []string{"--nats-url", "nats://127.0.0.1:1", "--metrics-listen", "127.0.0.1:0"}
	err := run(context.Background(), args)
	if err == nil {
		t.Fatal("run() without a token = nil, want an error")
	}
	if !strings.Contains(err.Error(), "SWITCHYARD_INTERNAL_TOKEN") {
		t.Errorf("run() without a token = %v, want the missing token named", err)
	}
}
