package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
)

// The spans that one event's trace must hold, from intake to the call.
var eventPathSpans = []string{
	"ingest.receive", "ingest.validate", "ingest.store",
	"ruleengine.match", "ruleengine.render",
	"delivery.process", "delivery.attempt",
}

// Trace context of the producer that the tests pretend to be.
const (
	producerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	producerSpanID  = "00f067aa0ba902b7"
	producerParent  = "00-" + producerTraceID + "-" + producerSpanID + "-01"
)

// startTracedStack starts the dev stack with tracing on, every span
// going to the returned in-memory exporter, and the logs written as
// `switchyard dev` writes them, to the test log and to the returned
// buffer.
func startTracedStack(t *testing.T) (*devStack, *tracetest.InMemoryExporter, *logBuffer) {
	t.Helper()
	// The batch span processor exports every 5 s by default; 50 ms keeps
	// the polling below short.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	exporter := tracetest.NewInMemoryExporter()
	logs := &logBuffer{}
	logger, err := telemetry.NewLogger(io.MultiWriter(testWriter{t}, logs),
		telemetry.FormatText, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.Start(ctx, stack.Config{
		DataDir:       t.TempDir(),
		NATSListen:    "127.0.0.1:0",
		ConfigListen:  "127.0.0.1:0",
		IngestListen:  "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0",
		Logger:        logger,
		SpanExporter:  exporter,
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

	c := cli{
		t:      t,
		server: s.ConfigAddr().String(),
		ingest: "http://" + s.IngestAddr().String(),
		env:    map[string]string{"JENKINS_TOKEN": jenkinsToken},
	}
	return &devStack{Stack: s, cli: c}, exporter, logs
}

// logBuffer collects log output from concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// line returns the first line that contains substr, or "".
func (b *logBuffer) line(substr string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for line := range strings.Lines(b.buf.String()) {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}

// waitTrace waits until the exporter contains a span of every name in
// names in the trace with id traceID, and returns that trace's spans.
func waitTrace(t *testing.T, exporter *tracetest.InMemoryExporter,
	traceID trace.TraceID, names []string) tracetest.SpanStubs {
	t.Helper()
	var spans tracetest.SpanStubs
	waitFor(t, 20*time.Second, func() (bool, string) {
		spans = spans[:0]
		for _, s := range exporter.GetSpans() {
			if s.SpanContext.TraceID() == traceID {
				spans = append(spans, s)
			}
		}
		var missing []string
		for _, name := range names {
			if spanNamed(spans, name) == nil {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0, fmt.Sprintf("trace %s lacks spans %v; it has %v",
			traceID, missing, spanNames(spans))
	})
	return spans
}

func spanNamed(spans tracetest.SpanStubs, name string) *tracetest.SpanStub {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

func spanNames(spans tracetest.SpanStubs) []string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name
	}
	slices.Sort(names)
	return names
}

func intAttribute(attrs []attribute.KeyValue, key string) (int64, bool) {
	for _, kv := range attrs {
		if string(kv.Key) == key {
			return kv.Value.AsInt64(), true
		}
	}
	return 0, false
}

// checkEventTrace checks that the event's spans form one tree under
// the producer's span, in the order of the event's path, and that the
// attempt records the endpoint's status.
func checkEventTrace(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	receive := spanNamed(spans, "ingest.receive")
	if got := receive.Parent.SpanID().String(); got != producerSpanID {
		t.Errorf("ingest.receive parent span = %s, want the producer's %s", got, producerSpanID)
	}
	if !receive.Parent.IsRemote() {
		t.Error("ingest.receive parent is not remote, want the producer's remote span")
	}

	parents := map[string]string{
		"ingest.validate":   "ingest.receive",
		"ingest.store":      "ingest.receive",
		"ruleengine.match":  "ingest.store",
		"ruleengine.render": "ruleengine.match",
		"delivery.process":  "ruleengine.render",
		"delivery.attempt":  "delivery.process",
	}
	for child, parent := range parents {
		c, p := spanNamed(spans, child), spanNamed(spans, parent)
		if c.Parent.SpanID() != p.SpanContext.SpanID() {
			t.Errorf("%s parent span = %s, want %s (%s)",
				child, c.Parent.SpanID(), parent, p.SpanContext.SpanID())
		}
	}

	attempt := spanNamed(spans, "delivery.attempt")
	status, ok := intAttribute(attempt.Attributes, "http.response.status_code")
	if !ok {
		t.Fatalf("delivery.attempt has no http.response.status_code; attributes %v",
			attempt.Attributes)
	}
	if status != http.StatusCreated {
		t.Errorf("delivery.attempt http.response.status_code = %d, want %d",
			status, http.StatusCreated)
	}
}

func TestTraceFollowsHTTPEvent(t *testing.T) {
	jenkins, jenkinsURL := startJenkins(t)
	s, exporter, logs := startTracedStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	event := tracedEvent(t, "traced-over-http")
	url := "http://" + s.IngestAddr().String() + "/v1/buses/default/events"
	resp, err := http.Post(url, "application/cloudevents+json", bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST event = %d %s, want 200", resp.StatusCode, body)
	}

	waitDelivered(t, s.cli, "traced-over-http")
	if got := len(buildRequests(jenkins)); got != 1 {
		t.Fatalf("Jenkins got %d build requests, want 1", got)
	}
	wantTraceparent(t, buildRequests(jenkins)[0].Header.Get("traceparent"))

	traceID, _ := trace.TraceIDFromHex(producerTraceID)
	checkEventTrace(t, waitTrace(t, exporter, traceID, eventPathSpans))

	// The delivery logged inside its span, so the line carries the ids.
	delivered := logs.line(`msg=delivered`)
	if !strings.Contains(delivered, "trace_id="+producerTraceID) {
		t.Errorf("log line %q lacks trace_id=%s", delivered, producerTraceID)
	}
	if !strings.Contains(delivered, "span_id=") {
		t.Errorf("log line %q lacks span_id", delivered)
	}
}

func TestTraceShowsDeadLetter(t *testing.T) {
	_, jenkinsURL := startJenkins(t)
	s, exporter, _ := startTracedStack(t)
	s.cli.run("connection", "create", "jenkins-connection", "--auth", "basic",
		"--username", "admin", "--password-env", "JENKINS_TOKEN",
		"--network", "private").wantCode(t, exitOK)
	// Jenkins has no job "missing" and responds 404, which is not retried.
	s.cli.run("destination", "create", "missing-job",
		"--url", jenkinsURL+"/job/missing/build", "--method", "POST",
		"--connection", "jenkins-connection").wantCode(t, exitOK)
	s.cli.run("rule", "create", "build-missing", "--bus", "default",
		"--pattern", pushPattern, "--target", "missing-job").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "build-missing")

	event := cloudEvent(t, "traced-dead-letter", readTestdata(t, "github-push-branch.json"))
	publishTraced(t, s.NATSURL(), jsstreams.Topology{}.IngestSubject("default"), event)

	traceID, _ := trace.TraceIDFromHex(producerTraceID)
	names := append(slices.Clone(eventPathSpans), "delivery.dead_letter")
	spans := waitTrace(t, exporter, traceID, names)

	attempt := spanNamed(spans, "delivery.attempt")
	status, _ := intAttribute(attempt.Attributes, "http.response.status_code")
	if status != http.StatusNotFound {
		t.Errorf("delivery.attempt http.response.status_code = %d, want %d",
			status, http.StatusNotFound)
	}
	deadLetter := spanNamed(spans, "delivery.dead_letter")
	process := spanNamed(spans, "delivery.process")
	if deadLetter.Parent.SpanID() != process.SpanContext.SpanID() {
		t.Errorf("delivery.dead_letter parent span = %s, want delivery.process (%s)",
			deadLetter.Parent.SpanID(), process.SpanContext.SpanID())
	}
	if deadLetter.Status.Code != codes.Unset {
		t.Errorf("delivery.dead_letter status = %v %q, want unset (stored)",
			deadLetter.Status.Code, deadLetter.Status.Description)
	}
}

func TestTraceFollowsNATSEvent(t *testing.T) {
	_, jenkinsURL := startJenkins(t)
	s, exporter, _ := startTracedStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	// The producer's trace context travels in the message header here,
	// with no traceparent extension on the event.
	event := cloudEvent(t, "traced-over-nats", readTestdata(t, "github-push-branch.json"))
	publishTraced(t, s.NATSURL(), jsstreams.Topology{}.IngestSubject("default"), event)

	waitDelivered(t, s.cli, "traced-over-nats")
	traceID, _ := trace.TraceIDFromHex(producerTraceID)
	checkEventTrace(t, waitTrace(t, exporter, traceID, eventPathSpans))
}

// tracedEvent is a push event carrying the producer's trace context in
// the CloudEvents traceparent extension.
func tracedEvent(t *testing.T, id string) []byte {
	t.Helper()
	var event map[string]any
	if err := json.Unmarshal(cloudEvent(t, id, readTestdata(t, "github-push-branch.json")), &event); err != nil {
		t.Fatal(err)
	}
	event["traceparent"] = producerParent
	b, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishTraced publishes event to subject with the producer's trace
// context in the traceparent header.
func publishTraced(t *testing.T, url, subject string, event []byte) {
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
	msg := nats.NewMsg(subject)
	msg.Data = event
	msg.Header.Set("traceparent", producerParent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("publish to %s: %v", subject, err)
	}
}

// wantTraceparent checks that the endpoint got a W3C traceparent in the
// producer's trace.
func wantTraceparent(t *testing.T, got string) {
	t.Helper()
	parts := strings.Split(got, "-")
	if len(parts) != 4 || parts[1] != producerTraceID {
		t.Errorf("endpoint traceparent = %q, want one in trace %s", got, producerTraceID)
	}
}
