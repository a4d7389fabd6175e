package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// pathRecorder is an endpoint that returns 201 and records the path of
// every request.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.EscapedPath())
	p.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func (p *pathRecorder) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// jobEvent puts an event whose data names a job and returns its id.
func jobEvent(t *testing.T, c cli, job string) string {
	t.Helper()
	data, err := json.Marshal(map[string]string{"job": job, "fallback": "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("events", "put", "--bus", "default", "--type", "com.example.deploy",
		"--source", "ci", "--data", string(data))
	r.wantCode(t, exitOK)
	return trimLine(r.stdout)
}

// waitDeadLetter waits for the dead letter of an event and returns it,
// as `dlq list -o json` prints it.
func waitDeadLetter(t *testing.T, c cli, eventID string) *v1.DeadLetter {
	t.Helper()
	var found *v1.DeadLetter
	waitFor(t, 20*time.Second, func() (bool, string) {
		r := c.run("-o", "json", "dlq", "list")
		if r.code != exitOK {
			return false, r.stderr
		}
		resp := &v1.ListDeadLettersResponse{}
		if err := protojsonUnmarshal([]byte(r.stdout), resp); err != nil {
			return false, "undecodable output: " + r.stdout
		}
		for _, d := range resp.GetDeadLetters() {
			if d.GetEventId() == eventID {
				found = d
				return true, ""
			}
		}
		return false, "no dead letter of event " + eventID + " in " + r.stdout
	})
	return found
}

// deliveryState returns the state of an event's only delivery record.
func deliveryState(t *testing.T, c cli, eventID string) v1.DeliveryState {
	t.Helper()
	r := c.run("-o", "json", "deliveries", "get", eventID)
	r.wantCode(t, exitOK)
	var resp struct {
		Deliveries []json.RawMessage `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("undecodable deliveries get output: %v\n%s", err, r.stdout)
	}
	if len(resp.Deliveries) != 1 {
		t.Fatalf("event %s has %d delivery records, want 1", eventID, len(resp.Deliveries))
	}
	d := &v1.Delivery{}
	if err := protojsonUnmarshal(resp.Deliveries[0], d); err != nil {
		t.Fatal(err)
	}
	return d.GetState()
}

func TestRenderFailureRedrivenAfterRuleUpdate(t *testing.T) {
	endpoint := &pathRecorder{}
	srv := httptest.NewServer(endpoint)
	t.Cleanup(srv.Close)

	s := startDevStack(t)
	c := s.cli
	createHookConnection(t, c)
	c.run("destination", "create", "jobs", "--url", srv.URL+"/job/*/build",
		"--connection", "hook-connection").wantCode(t, exitOK)
	c.run("rule", "create", "deploy", "--bus", "default",
		"--pattern", `{"type":["com.example.deploy"]}`,
		"--target", "jobs", "--path-value", "$.data.job").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "deploy")

	// The rule engine renders ".." for the path value, which would
	// leave the URL's path, so it dead-letters the request unsent.
	eventID := jobEvent(t, c, "..")
	dl := waitDeadLetter(t, c, eventID)
	if got := dl.GetErrorCode(); got != "RENDER_FAILED" {
		t.Errorf("dead letter error code = %q, want RENDER_FAILED", got)
	}
	if got := dl.GetAttempts(); got != 0 {
		t.Errorf("dead letter attempts = %d, want 0", got)
	}
	if got := deliveryState(t, c, eventID); got != v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED {
		t.Errorf("delivery state = %v, want DEAD_LETTERED", got)
	}

	r := c.run("dlq", "get", dl.GetId())
	r.wantCode(t, exitOK)
	for _, want := range []string{`RENDER_FAILED: path value 1 ($.data.job) is "..", ` +
		"a dot segment", "default/deploy", eventID} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dlq get stdout = %q, want %q in it", r.stdout, want)
		}
	}

	// Redriven unchanged, the request still cannot be rendered.
	r = c.run("dlq", "redrive", "--ids", dl.GetId())
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stdout, "skipped "+dl.GetId()+":") ||
		!strings.Contains(r.stdout, "rendering the request failed again") {
		t.Errorf("redrive before the fix: stdout = %q, want the dead letter skipped with the reason",
			r.stdout)
	}

	c.run("rule", "update", "deploy", "--bus", "default",
		"--path-value", "$.data.fallback").wantCode(t, exitOK)
	r = c.run("dlq", "redrive", "--ids", dl.GetId())
	r.wantCode(t, exitOK)
	if r.stdout != "redriven 1, skipped 0\n" {
		t.Errorf("redrive after the fix: stdout = %q, want redriven 1, skipped 0", r.stdout)
	}
	waitDelivered(t, c, eventID)
	if got := endpoint.seen(); len(got) != 1 || got[0] != "/job/deploy/build" {
		t.Errorf("endpoint requests = %q, want one to /job/deploy/build", got)
	}
	r = c.run("dlq", "list")
	r.wantCode(t, exitOK)
	if r.stdout != "no dead letters\n" {
		t.Errorf("dlq list after the redrive = %q, want no dead letters", r.stdout)
	}
}

func TestRedriveOfDeletedRuleSkipped(t *testing.T) {
	s := startDevStack(t)
	c := s.cli
	createHookConnection(t, c)
	c.run("destination", "create", "jobs", "--url", "http://127.0.0.1:1/job/*/build",
		"--connection", "hook-connection").wantCode(t, exitOK)
	c.run("rule", "create", "deploy", "--bus", "default",
		"--pattern", `{"type":["com.example.deploy"]}`,
		"--target", "jobs", "--path-value", "$.data.job").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "deploy")

	dl := waitDeadLetter(t, c, jobEvent(t, c, "."))
	c.run("rule", "delete", "deploy", "--bus", "default").wantCode(t, exitOK)

	r := c.run("dlq", "redrive", "--rule", "deploy")
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stdout, "skipped "+dl.GetId()+":") {
		t.Errorf("redrive stdout = %q, want dead letter %s skipped", r.stdout, dl.GetId())
	}
	if !strings.Contains(r.stdout, "rule default/deploy no longer exists") {
		t.Errorf("redrive stdout = %q, want the reason that the rule is gone", r.stdout)
	}
	if !strings.Contains(r.stderr, "1 dead letter not redriven") {
		t.Errorf("redrive stderr = %q, want 1 dead letter not redriven", r.stderr)
	}
	if got := waitDeadLetter(t, c, dl.GetEventId()).GetId(); got != dl.GetId() {
		t.Errorf("dead letter of the event = %s after the redrive, want %s kept", got, dl.GetId())
	}
}
