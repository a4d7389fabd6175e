package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// replayOutput matches what `events replay` prints.
var replayOutput = regexp.MustCompile(`^replay ([a-z0-9-]+): (\d+) events queued\n$`)

func TestReplayStartsBuildAgain(t *testing.T) {
	jenkins, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	eventID := trimLine(r.stdout)
	if got := len(waitDelivered(t, s.cli, eventID)); got != 1 {
		t.Fatalf("event has %d deliveries before the replay, want 1", got)
	}
	if got := len(buildRequests(jenkins)); got != 1 {
		t.Fatalf("Jenkins got %d build requests before the replay, want 1", got)
	}

	r = s.cli.run("events", "replay", "--bus", "default", "--from", "1h")
	r.wantCode(t, exitOK)
	m := replayOutput.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("events replay stdout = %q, want %q", r.stdout, replayOutput)
	}
	replayID := m[1]
	if m[2] != "1" {
		t.Errorf("events replay queued %s events, want 1", m[2])
	}

	waitFor(t, 30*time.Second, func() (bool, string) {
		n := len(buildRequests(jenkins))
		return n == 2, fmt.Sprintf("Jenkins got %d build requests, want 2", n)
	})
	wantBasicAuth(t, buildRequests(jenkins)[1])

	var deliveries []*v1.Delivery
	waitFor(t, 30*time.Second, func() (bool, string) {
		deliveries = waitDelivered(t, s.cli, eventID)
		return len(deliveries) == 2, fmt.Sprintf("%d deliveries delivered", len(deliveries))
	})
	replayIDs := map[string]int{}
	for _, d := range deliveries {
		replayIDs[d.GetReplayId()]++
	}
	if replayIDs[""] != 1 || replayIDs[replayID] != 1 {
		t.Errorf("deliveries by replay id = %v, want one first and one of replay %s",
			replayIDs, replayID)
	}

	r = s.cli.run("deliveries", "get", eventID)
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stdout, "replayed by:") || !strings.Contains(r.stdout, replayID) {
		t.Errorf("deliveries get does not mark the replayed delivery:\n%s", r.stdout)
	}
}

func TestReplayNamedRuleOnlyEndToEnd(t *testing.T) {
	jenkins, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.cli.run("rule", "create", "build-again", "--bus", "default",
		"--pattern", pushPattern, "--target", "jenkins-build").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "build-on-push")
	s.waitRuleLoaded(t, "default", "build-again")

	r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	eventID := trimLine(r.stdout)
	waitFor(t, 30*time.Second, func() (bool, string) {
		n := len(waitDelivered(t, s.cli, eventID))
		return n == 2, fmt.Sprintf("%d deliveries delivered, want one per rule", n)
	})

	r = s.cli.run("events", "replay", "--from", "1h", "--rule", "build-again", "--id", "only-again")
	r.wantCode(t, exitOK)

	var deliveries []*v1.Delivery
	waitFor(t, 30*time.Second, func() (bool, string) {
		deliveries = waitDelivered(t, s.cli, eventID)
		return len(deliveries) == 3, fmt.Sprintf("%d deliveries delivered, want 3", len(deliveries))
	})
	for _, d := range deliveries {
		if d.GetReplayId() == "only-again" && d.GetRule() != "build-again" {
			t.Errorf("replayed delivery of rule %s, want only build-again", d.GetRule())
		}
	}
	if got := len(buildRequests(jenkins)); got != 3 {
		t.Errorf("Jenkins got %d build requests, want 3", got)
	}
}

// TestStackEventsMaxAge checks that every service of the stack ensures
// the streams with the same retention. The services call Ensure one
// after another at start, so one left with the default would reset
// EVENTS to 7 days.
func TestStackEventsMaxAge(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.Start(ctx, stack.Config{
		DataDir:       t.TempDir(),
		NATSListen:    "127.0.0.1:0",
		ConfigListen:  "127.0.0.1:0",
		IngestListen:  "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0",
		Logger:        testLogger(t),
		StreamOptions: jsstreams.Options{EventsMaxAge: 3 * time.Hour, DeliveryRecordTTL: 2 * time.Hour},
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

	nc, err := nats.Connect(s.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{jsstreams.Events, jsstreams.Replay} {
		info, err := js.Stream(t.Context(), jsstreams.Topology{}.Stream(name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.CachedInfo().Config.MaxAge; got != 3*time.Hour {
			t.Errorf("%s max age = %s, want 3h0m0s", name, got)
		}
	}
	kv, err := js.KeyValue(t.Context(), jsstreams.Topology{}.Bucket(jsstreams.BucketDeliveries))
	if err != nil {
		t.Fatal(err)
	}
	status, err := kv.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := status.TTL(); got != 2*time.Hour {
		t.Errorf("delivery records TTL = %s, want 2h0m0s", got)
	}
}

func TestDevRejectsShortEventsMaxAge(t *testing.T) {
	c := newCLI(t, &fakeConfig{})
	r := c.run("dev", "--events-max-age", "1m", "--data-dir", t.TempDir(),
		"--nats-listen", "127.0.0.1:0", "--config-listen", "127.0.0.1:0",
		"--ingest-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
	r.wantCode(t, exitUsage)
	if !strings.Contains(r.stderr, "invalid --events-max-age 1m0s") {
		t.Errorf("stderr = %q, want the invalid --events-max-age", r.stderr)
	}
}
