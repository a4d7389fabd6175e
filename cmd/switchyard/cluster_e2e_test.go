package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	"github.com/switchyard-dev/switchyard/pkg/natstest"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
)

// TestClusterKeepsDeliveringWhenServerStops runs the walk-through on a
// three-server JetStream cluster with three replicas, stops the server
// that leads the EVENTS stream, and checks that the next event still
// starts exactly one build.
func TestClusterKeepsDeliveringWhenServerStops(t *testing.T) {
	cluster := natstest.StartCluster(t, 3)
	jenkins, jenkinsURL := startJenkins(t)
	s := startDevStack(t, func(cfg *stack.Config) {
		cfg.NATSURL = cluster.URL
		cfg.Prefix = cluster.Topology.Prefix
		cfg.StreamOptions.Replicas = 3
	})
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	js, err := jetstream.New(cluster.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	events, err := js.Stream(t.Context(), cluster.Topology.Stream(jsstreams.Events))
	if err != nil {
		t.Fatal(err)
	}
	info := events.CachedInfo()
	if got := info.Config.Replicas; got != 3 {
		t.Fatalf("EVENTS has %d replicas, want 3", got)
	}

	putPush := func() string {
		r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
			"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
		r.wantCode(t, exitOK)
		return trimLine(r.stdout)
	}
	waitDelivered(t, s.cli, putPush())
	if got := len(buildRequests(jenkins)); got != 1 {
		t.Fatalf("Jenkins got %d build requests before the stop, want 1", got)
	}

	cluster.Stop(t, info.Cluster.Leader)

	// The remaining two servers elect new leaders, and the services'
	// connections move to them; until then a put may fail.
	var id string
	waitFor(t, time.Minute, func() (bool, string) {
		r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
			"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
		id = trimLine(r.stdout)
		return r.code == exitOK, r.stderr
	})
	waitDelivered(t, s.cli, id)
	if got := len(buildRequests(jenkins)); got != 2 {
		t.Errorf("Jenkins got %d build requests after the stop, want 2", got)
	}

	// Config lists its buckets through ephemeral consumers, which must
	// land on the servers still up: a rule created now takes effect,
	// and every list succeeds.
	s.cli.run("rule", "create", "build-again", "--bus", "default",
		"--pattern", pushPattern, "--target", "jenkins-build").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "build-again")
	for i := range 10 {
		r := s.cli.run("--request-timeout", "5s", "rule", "list")
		if r.code != exitOK {
			t.Fatalf("rule list %d after the stop: exit %d: %s", i+1, r.code, r.stderr)
		}
	}
}
