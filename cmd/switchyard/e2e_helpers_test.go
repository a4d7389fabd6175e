package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/jenkinstest"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
)

// jenkinsToken is the API token of the Jenkins double's admin user.
const jenkinsToken = "11aa22bb33cc44dd55ee66ff7788990011"

// pushPattern is the walk-through's rule: pushes to a branch that was
// not deleted.
const pushPattern = `{"type":["com.github.push"],` +
	`"data":{"ref":[{"prefix":"refs/heads/"}],"deleted":[false]}}`

const pushSource = "https://github.com/example-org/hello-world"

// waitFor polls cond until it returns true or the timeout passes; the
// message it returns describes the last state seen, for the failure.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %s: %s", timeout, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startJenkins starts the Jenkins double with an admin user whose API
// token is jenkinsToken, CSRF protection on, and the job "test".
func startJenkins(t *testing.T) (*jenkinstest.Server, string) {
	t.Helper()
	j := jenkinstest.New(jenkinstest.Config{CSRF: true})
	j.AddUser("admin", jenkinstest.User{APITokens: []string{jenkinsToken}})
	j.AddJob("test", jenkinstest.Job{})
	return j, j.Start(t)
}

// buildRequests returns the POSTs to /job/test/build that Jenkins
// received.
func buildRequests(j *jenkinstest.Server) []jenkinstest.Request {
	var out []jenkinstest.Request
	for _, r := range j.Requests() {
		if r.Method == "POST" && r.Path == "/job/test/build" {
			out = append(out, r)
		}
	}
	return out
}

func wantBasicAuth(t *testing.T, r jenkinstest.Request) {
	t.Helper()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+jenkinsToken))
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q, want Basic admin:<token>", got)
	}
}

// createHookConnection creates the connection "hook-connection", with
// Basic credentials and a private network, for tests that aim a
// destination at a local endpoint.
func createHookConnection(t *testing.T, c cli) {
	t.Helper()
	c.run("connection", "create", "hook-connection", "--auth", "basic",
		"--username", "admin", "--password-env", "JENKINS_TOKEN",
		"--network", "private").wantCode(t, exitOK)
}

// startFailingHook starts the dev stack and the destination "hook",
// whose endpoint responds with 503 to every call, and returns the stack and
// the endpoint's call count.
func startFailingHook(t *testing.T) (*devStack, *atomic.Int32) {
	t.Helper()
	calls := &atomic.Int32{}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)

	s := startDevStack(t)
	createHookConnection(t, s.cli)
	s.cli.run("destination", "create", "hook", "--url", down.URL+"/hook",
		"--connection", "hook-connection").wantCode(t, exitOK)
	return s, calls
}

// readTestdata reads a payload from the repository's testdata folder.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cloudEvent wraps a GitHub push payload as a structured CloudEvent.
func cloudEvent(t *testing.T, id string, data []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          pushSource,
		"type":            "com.github.push",
		"datacontenttype": "application/json",
		"data":            json.RawMessage(data),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishOverNATS puts an event on ingest.<bus> through JetStream, as a
// NATS producer does.
func publishOverNATS(t *testing.T, url string, topo jsstreams.Topology, bus string, event []byte) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, topo.IngestSubject(bus), event); err != nil {
		t.Fatalf("publish to %s: %v", topo.IngestSubject(bus), err)
	}
}

// waitEventsHandled waits until the rule engine has acknowledged every
// event stored so far, so a test can tell that an event matched nothing.
func waitEventsHandled(t *testing.T, url string, topo jsstreams.Topology) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, 20*time.Second, func() (bool, string) {
		stream, err := js.Stream(ctx, topo.Stream(jsstreams.Events))
		if err != nil {
			return false, err.Error()
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		cons, err := stream.Consumer(ctx, "ruleengine")
		if err != nil {
			return false, err.Error()
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		last := info.State.LastSeq
		return ci.AckFloor.Stream >= last,
			fmt.Sprintf("rule engine ack floor %d, last event %d", ci.AckFloor.Stream, last)
	})
}

// testLogger writes the services' logs to the test log, so a failing
// test shows them.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// queueItemPath matches the Location of a Jenkins queue item.
var queueItemPath = regexp.MustCompile(`/queue/item/[0-9]+/$`)

func trimLine(s string) string { return strings.TrimSpace(s) }

func protojsonUnmarshal(b []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, m)
}
