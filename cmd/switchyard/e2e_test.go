package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// devStack runs `switchyard dev`'s services in the test on free ports,
// with an embedded NATS server and a temporary data folder.
type devStack struct {
	*stack.Stack
	cli cli
}

// startDevStack starts the stack; each option changes its config, such
// as to use an external NATS server.
func startDevStack(t *testing.T, options ...func(*stack.Config)) *devStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := stack.Config{
		DataDir:       t.TempDir(),
		NATSListen:    "127.0.0.1:0",
		ConfigListen:  "127.0.0.1:0",
		IngestListen:  "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0",
		Logger:        testLogger(t),
	}
	for _, option := range options {
		option(&cfg)
	}
	s, err := stack.Start(ctx, cfg)
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

	c := cli{
		t:      t,
		server: s.ConfigAddr().String(),
		ingest: "http://" + s.IngestAddr().String(),
		env:    map[string]string{"JENKINS_TOKEN": jenkinsToken},
	}
	return &devStack{Stack: s, cli: c}
}

// createWalkthroughConfig runs the walk-through's three create commands
// against the stack, aiming the destination at jenkinsURL.
func createWalkthroughConfig(t *testing.T, c cli, jenkinsURL string) {
	t.Helper()
	c.run("connection", "create", "jenkins-connection", "--auth", "basic",
		"--username", "admin", "--password-env", "JENKINS_TOKEN",
		"--network", "private").wantCode(t, exitOK)
	c.run("destination", "create", "jenkins-build",
		"--url", jenkinsURL+"/job/test/build", "--method", "POST",
		"--connection", "jenkins-connection").wantCode(t, exitOK)
	c.run("rule", "create", "build-on-push", "--bus", "default",
		"--pattern", pushPattern, "--target", "jenkins-build").wantCode(t, exitOK)
}

// waitDelivered waits until every delivery of the event is delivered and
// returns them, as `deliveries get -o json` prints them.
func waitDelivered(t *testing.T, c cli, eventID string) []*v1.Delivery {
	t.Helper()
	var got []*v1.Delivery
	waitFor(t, 30*time.Second, func() (bool, string) {
		r := c.run("-o", "json", "deliveries", "get", eventID)
		if r.code != exitOK {
			return false, r.stderr
		}
		var resp struct {
			Deliveries []json.RawMessage `json:"deliveries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
			return false, "undecodable output: " + r.stdout
		}
		got = got[:0]
		for _, raw := range resp.Deliveries {
			d := &v1.Delivery{}
			if err := protojsonUnmarshal(raw, d); err != nil {
				return false, err.Error()
			}
			got = append(got, d)
		}
		if len(got) == 0 {
			return false, "no deliveries yet"
		}
		for _, d := range got {
			if d.GetState() != v1.DeliveryState_DELIVERY_STATE_DELIVERED {
				return false, "state " + d.GetState().String()
			}
		}
		return true, ""
	})
	return got
}

// waitRuleLoaded waits until the rule engine matches with the rule, which
// it loads a moment after config stores it.
func (s *devStack) waitRuleLoaded(t *testing.T, bus, name string) {
	t.Helper()
	waitFor(t, 20*time.Second, func() (bool, string) {
		return s.RuleRevision(bus, name) > 0, "rule " + name + " not loaded by the rule engine"
	})
}

func TestWalkthroughStartsOneBuildPerEvent(t *testing.T) {
	jenkins, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	// Over HTTP, as `switchyard events put` sends it.
	r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	httpID := trimLine(r.stdout)

	deliveries := waitDelivered(t, s.cli, httpID)
	if len(deliveries) != 1 {
		t.Fatalf("event over HTTP has %d deliveries, want 1", len(deliveries))
	}
	if loc := deliveries[0].GetLocation(); !queueItemPath.MatchString(loc) {
		t.Errorf("delivery Location = %q, want a Jenkins queue item", loc)
	}
	if got := deliveries[0].GetRequest().GetContentType(); got != "application/json" {
		t.Errorf("rendered request content type = %q, want application/json", got)
	}
	text := s.cli.run("deliveries", "get", httpID, "--body")
	text.wantCode(t, exitOK)
	for _, want := range []string{
		"application/json", "bytes", `"refs/heads/main"`, httpID + " from source " + pushSource,
	} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("deliveries get --body output lacks %q:\n%s", want, text.stdout)
		}
	}
	s.cli.run("deliveries", "get", httpID, "--source", pushSource).wantCode(t, exitOK)
	other := s.cli.run("deliveries", "get", httpID, "--source", "/elsewhere")
	other.wantCode(t, exitFailure)
	if want := "no deliveries recorded for event " + httpID + " from source /elsewhere."; !strings.Contains(other.stderr, want) {
		t.Errorf("deliveries get --source /elsewhere: stderr = %q, want %q", other.stderr, want)
	}
	if got := len(buildRequests(jenkins)); got != 1 {
		t.Fatalf("Jenkins got %d build requests after the HTTP event, want 1", got)
	}
	wantBasicAuth(t, buildRequests(jenkins)[0])

	// Over NATS, as a producer publishes to ingest.default.
	natsEvent := cloudEvent(t, "push-over-nats", readTestdata(t, "github-push-branch.json"))
	publishOverNATS(t, s.NATSURL(), jsstreams.Topology{}, "default", natsEvent)
	waitDelivered(t, s.cli, "push-over-nats")
	if got := len(buildRequests(jenkins)); got != 2 {
		t.Fatalf("Jenkins got %d build requests after the NATS event, want 2", got)
	}
	wantBasicAuth(t, buildRequests(jenkins)[1])

	// A deleted tag matches no rule and starts nothing.
	r = s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-tag-deleted.json")
	r.wantCode(t, exitOK)
	tagID := trimLine(r.stdout)
	waitEventsHandled(t, s.NATSURL(), jsstreams.Topology{})

	// The README describes this error and exit status as the expected result.
	r = s.cli.run("deliveries", "get", tagID)
	r.wantCode(t, exitFailure)
	if !strings.HasPrefix(r.stderr, "error: no deliveries recorded for event "+tagID+". ") {
		t.Errorf("deliveries get of the deleted tag: stderr = %q, want no deliveries", r.stderr)
	}
	if got := len(buildRequests(jenkins)); got != 2 {
		t.Errorf("Jenkins got %d build requests after the deleted tag, want still 2", got)
	}
}
