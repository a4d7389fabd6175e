package main

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

func TestRunStoppedDuringStartup(t *testing.T) {
	ns := natstest.Start(t)
	// A stop signal that arrives during start-up ends the context
	// while New still sets up streams and consumers.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", ns.URL, "--prefix", ns.Topology.Prefix,
			"--server", "127.0.0.1:1", "--metrics-listen", "127.0.0.1:0"})
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
