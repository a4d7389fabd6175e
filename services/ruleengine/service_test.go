package ruleengine

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/tasks"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const (
	pushPattern = `{"type": ["push"]}`
	traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

func event(id, eventType string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"github","type":%q,`+
		`"data":{"repository":{"name":"shop"}}}`, id, eventType)
}

func TestMatchPublishesTask(t *testing.T) {
	maxAttempts := int32(3)
	target := &v1.Target{
		ApiDestination: "jenkins",
		PathValues:     []string{"$.data.repository.name"},
		Headers:        map[string]string{"X-Source": "$.source"},
		RetryPolicy: &v1.RetryPolicy{
			MaxAttempts: &maxAttempts,
			MaxEventAge: durationpb.New(time.Hour),
		},
	}
	rules := &testRules{rules: []*v1.Rule{rule("default", "build", pushPattern, target)}}
	e := start(t, rules)

	ingest := time.Date(2026, 12, 4, 10, 30, 0, 123000000, time.UTC)
	ev := event("e1", "push")
	e.publish("default", ev, nats.Header{
		streams.HeaderBus:        {"default"},
		streams.HeaderIngestTime: {ingest.Format(time.RFC3339Nano)},
		"traceparent":            {traceParent},
	})
	e.waitIdle()

	tasks := e.tasks()
	if len(tasks) != 1 {
		t.Fatalf("got %d tasks, want 1", len(tasks))
	}
	got := tasks[0]
	if want := e.topology.DeliveriesSubject("jenkins"); got.subject != want {
		t.Errorf("subject = %q, want %q", got.subject, want)
	}
	wantID := streams.TaskMsgID("default", "github", "e1", "build", "jenkins")
	if id := got.header.Get(streams.HeaderMsgID); id != wantID {
		t.Errorf("msg id = %q, want %q", id, wantID)
	}
	if tp := got.header.Get("traceparent"); tp != traceParent {
		t.Errorf("traceparent = %q, want %q", tp, traceParent)
	}

	task := got.task
	checks := []struct {
		field     string
		got, want any
	}{
		{"bus", task.GetBus(), "default"},
		{"event id", task.GetEventId(), "e1"},
		{"event source", task.GetEventSource(), "github"},
		{"rule", task.GetRule(), "build"},
		{"target id", task.GetTargetId(), "jenkins"},
		{"api destination", task.GetApiDestination(), "jenkins"},
		{"dead letter", task.GetDeadLetter(), true},
		{"event", string(task.GetEvent()), ev},
		{"body", string(task.GetRequest().GetBody()), ev},
		{"content type", task.GetRequest().GetContentType(), "application/json"},
		{"path values", strings.Join(task.GetRequest().GetPathValues(), ","), "shop"},
		{"header", task.GetRequest().GetHeaders()[0].GetValue(), "github"},
		{"ingest time", task.GetIngestTime().AsTime(), ingest},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("task %s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if !proto.Equal(task.GetRetryPolicy(), target.GetRetryPolicy()) {
		t.Errorf("retry policy = %v, want %v", task.GetRetryPolicy(), target.GetRetryPolicy())
	}
	if age := time.Since(task.GetMatchTime().AsTime()); age < 0 || age > time.Minute {
		t.Errorf("match time = %v, want about now", task.GetMatchTime().AsTime())
	}

	recs, err := e.records.List(t.Context(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("got %d delivery records, want 1", len(recs))
	}
	if got, want := recs[0].GetState(), v1.DeliveryState_DELIVERY_STATE_PENDING; got != want {
		t.Errorf("record state = %v, want %v", got, want)
	}
	if got := recs[0].GetRule() + "/" + recs[0].GetTargetId(); got != "build/jenkins" {
		t.Errorf("record rule/target = %q, want %q", got, "build/jenkins")
	}
	view := recs[0].GetRequest()
	if got := view.GetBody(); got != ev {
		t.Errorf("record request body = %q, want the event", got)
	}
	if got := strings.Join(view.GetPathValues(), ","); got != "shop" {
		t.Errorf("record request path values = %q, want shop", got)
	}
	if n := len(view.GetHeaders()); n != 1 || view.GetHeaders()[0].GetValue() != "github" {
		t.Errorf("record request headers = %v, want one with value github", view.GetHeaders())
	}
}

func TestNoMatchPublishesNothing(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}),
		rule("other", "all", `{"source": ["github"]}`, &v1.Target{ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)

	e.publish("default", event("e1", "issue"), nil)
	e.publish("nobus", event("e2", "push"), nil)
	e.waitIdle()

	if got := len(e.tasks()); got != 0 {
		t.Errorf("got %d tasks, want 0", got)
	}
	stats := e.svc.Stats()
	if stats.Events != 2 {
		t.Errorf("Stats().Events = %d, want 2", stats.Events)
	}
	if stats.Matched != 0 {
		t.Errorf("Stats().Matched = %d, want 0", stats.Matched)
	}
}

func TestEventHandledTwicePublishesOnce(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)

	// Two copies of one CloudEvent (same source and id) stand for an
	// event handled again after a crash before its ack.
	e.publish("default", event("e1", "push"), nil)
	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	if got := len(e.tasks()); got != 1 {
		t.Errorf("got %d tasks, want 1", got)
	}
	stats := e.svc.Stats()
	if stats.Tasks != 2 || stats.DuplicateTasks != 1 {
		t.Errorf("Stats() tasks, duplicates = %d, %d, want 2, 1", stats.Tasks, stats.DuplicateTasks)
	}
	recs, err := e.records.List(t.Context(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Errorf("got %d delivery records, want 1", len(recs))
	}
}

func TestRestartReprocessesWithoutDuplicates(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)
	for i := range 5 {
		e.publish("default", event(fmt.Sprintf("e%d", i), "push"), nil)
	}
	e.waitIdle()
	e.stop()

	// Deleting the consumer loses every ack, as a crash before the acks
	// would, so the next service handles every event again.
	stream := e.topology.Stream(streams.Events)
	if err := e.js.DeleteConsumer(t.Context(), stream, ConsumerName); err != nil {
		t.Fatal(err)
	}
	e.svc = e.newService(Config{})
	t.Cleanup(e.run(e.svc))
	e.waitIdle()

	if got := e.svc.Stats().DuplicateTasks; got != 5 {
		t.Errorf("Stats().DuplicateTasks = %d, want 5", got)
	}
	if got := len(e.tasks()); got != 5 {
		t.Errorf("got %d tasks, want 5", got)
	}
}

func TestTwoTargets(t *testing.T) {
	off := false
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "fanout", pushPattern,
			&v1.Target{ApiDestination: "jenkins"},
			&v1.Target{Id: "audit", ApiDestination: "webhook", DeadLetter: &off}),
	}}
	e := start(t, rules)

	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	tasks := e.tasks()
	if len(tasks) != 2 {
		t.Fatalf("got %d tasks, want 2", len(tasks))
	}
	byTarget := map[string]storedTask{}
	for _, st := range tasks {
		byTarget[st.task.GetTargetId()] = st
	}
	for _, want := range []struct {
		target, destination string
		deadLetter          bool
	}{
		{"jenkins", "jenkins", true},
		{"audit", "webhook", false},
	} {
		st, ok := byTarget[want.target]
		if !ok {
			t.Errorf("no task for target %q", want.target)
			continue
		}
		if got := st.subject; got != e.topology.DeliveriesSubject(want.destination) {
			t.Errorf("target %q subject = %q, want deliveries of %q", want.target, got, want.destination)
		}
		msgID := streams.TaskMsgID("default", "github", "e1", "fanout", want.target)
		if got := st.header.Get(streams.HeaderMsgID); got != msgID {
			t.Errorf("target %q msg id = %q, want %q", want.target, got, msgID)
		}
		if got := st.task.GetDeadLetter(); got != want.deadLetter {
			t.Errorf("target %q dead letter = %v, want %v", want.target, got, want.deadLetter)
		}
	}

	recs, err := e.records.List(t.Context(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Errorf("got %d delivery records, want 2", len(recs))
	}
}

func TestDisabledRulePublishesNothing(t *testing.T) {
	disabled := rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"})
	disabled.State = v1.RuleState_RULE_STATE_DISABLED
	e := start(t, &testRules{rules: []*v1.Rule{disabled}})

	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	if got := len(e.tasks()); got != 0 {
		t.Errorf("got %d tasks, want 0", got)
	}
}

func TestRuleChangeRebuildsMatcher(t *testing.T) {
	rules := &testRules{}
	e := start(t, rules)
	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	// The notice arrives over core NATS, so keep sending it until the
	// new rule is in place.
	rules.set(rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}))
	eventually(t, 10*time.Second, "the new rule to be loaded", func() bool {
		e.notifyRuleChange("default", "build")
		time.Sleep(10 * time.Millisecond)
		return e.svc.rules.Load().forBus("default").rules["build"] != nil
	})
	e.publish("default", event("e2", "push"), nil)
	e.waitIdle()

	tasks := e.tasks()
	if len(tasks) != 1 {
		t.Fatalf("got %d tasks, want 1", len(tasks))
	}
	if got := tasks[0].task.GetEventId(); got != "e2" {
		t.Errorf("task event id = %q, want %q", got, "e2")
	}

	disabled := rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"})
	disabled.State = v1.RuleState_RULE_STATE_DISABLED
	rules.set(disabled)
	eventually(t, 10*time.Second, "the disabled rule to be dropped", func() bool {
		e.notifyRuleChange("default", "build")
		time.Sleep(10 * time.Millisecond)
		return e.svc.rules.Load().forBus("default").rules["build"] == nil
	})
	e.publish("default", event("e3", "push"), nil)
	e.waitIdle()
	if got := len(e.tasks()); got != 1 {
		t.Errorf("got %d tasks after disabling, want 1", got)
	}
}

func TestPeriodicReloadFindsRule(t *testing.T) {
	rules := &testRules{}
	e := startWith(t, rules, Config{ReloadInterval: 50 * time.Millisecond})

	// No notice is sent, as when one was lost.
	rules.set(rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}))
	eventually(t, 10*time.Second, "the rule to be reloaded", func() bool {
		return e.svc.rules.Load().forBus("default").rules["build"] != nil
	})
}

func TestReconnectReloadsRules(t *testing.T) {
	rules := &testRules{}
	e := start(t, rules)

	// Notices sent while the connection is down are lost, so a
	// reconnect must reload every rule.
	rules.set(rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}))
	e.srv.Restart(t)
	eventually(t, 15*time.Second, "the rule to be reloaded", func() bool {
		return e.svc.rules.Load().forBus("default").rules["build"] != nil
	})

	// The consumer outlives the restart too.
	eventually(t, 15*time.Second, "NATS to reconnect", e.nc.IsConnected)
	e.publish("default", event("e1", "push"), nil)
	eventually(t, 15*time.Second, "the task", func() bool { return len(e.tasks()) == 1 })
}

func TestEventsWaitForFirstRuleLoad(t *testing.T) {
	rules := &testRules{
		rules:    []*v1.Rule{rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"})},
		failures: 2,
	}
	e := start(t, rules)

	// The first loads fail; the event must wait for rules rather than be
	// acked as matching nothing.
	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	if got := len(e.tasks()); got != 1 {
		t.Errorf("got %d tasks, want 1", got)
	}
}

func TestInvalidEventTerminated(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)

	e.publish("default", `{"id": "broken", "type": "push"`, nil)
	e.publish("default", `["not", "an", "object"]`, nil)
	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	tasks := e.tasks()
	if len(tasks) != 1 {
		t.Fatalf("got %d tasks, want 1", len(tasks))
	}
	if got := tasks[0].task.GetEventId(); got != "e1" {
		t.Errorf("task event id = %q, want %q", got, "e1")
	}
	if got := e.svc.Stats().Invalid; got != 2 {
		t.Errorf("Stats().Invalid = %d, want 2", got)
	}
}

func TestRenderFailureDeadLettered(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern,
			&v1.Target{Id: "dots", ApiDestination: "jenkins", PathValues: []string{".."}},
			&v1.Target{Id: "plain", ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)

	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	queued := e.tasks()
	if len(queued) != 1 {
		t.Fatalf("got %d tasks, want 1", len(queued))
	}
	if got := queued[0].task.GetTargetId(); got != "plain" {
		t.Errorf("task target = %q, want %q", got, "plain")
	}

	letters := e.deadLetters()
	if len(letters) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(letters))
	}
	dl := letters[0].letter
	if got := dl.GetErrorCode(); got != tasks.CodeRenderFailed {
		t.Errorf("dead letter error code = %q, want %q", got, tasks.CodeRenderFailed)
	}
	if got := dl.GetAttempts(); got != 0 {
		t.Errorf("dead letter attempts = %d, want 0", got)
	}
	want := `path value 1 (constant "..") is "..", a dot segment`
	if got := dl.GetErrorMessage(); !strings.Contains(got, want) {
		t.Errorf("dead letter error message = %q, want it to contain %q", got, want)
	}
	task := dl.GetTask()
	if task.GetRule() != "build" || task.GetTargetId() != "dots" || task.GetApiDestination() != "jenkins" {
		t.Errorf("dead letter rule, target, destination = %q, %q, %q; want build, dots, jenkins",
			task.GetRule(), task.GetTargetId(), task.GetApiDestination())
	}
	if got := string(task.GetEvent()); got != event("e1", "push") {
		t.Errorf("dead letter event = %s, want the original event", got)
	}
	if task.GetRequest() != nil {
		t.Errorf("dead letter request = %v, want none", task.GetRequest())
	}
	wantID := streams.TaskMsgID("default", "github", "e1", "build", "dots") + "-dl"
	if got := letters[0].header.Get(streams.HeaderMsgID); got != wantID {
		t.Errorf("dead letter message id = %q, want %q", got, wantID)
	}

	states := e.recordsByTarget("e1")
	dots := states["dots"]
	if got, want := dots.GetState(), v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED; got != want {
		t.Errorf("dots record state = %v, want %v", got, want)
	}
	if got := dots.GetErrorCode(); got != tasks.CodeRenderFailed {
		t.Errorf("dots record error code = %q, want %q", got, tasks.CodeRenderFailed)
	}
	if got, want := states["plain"].GetState(), v1.DeliveryState_DELIVERY_STATE_PENDING; got != want {
		t.Errorf("plain record state = %v, want %v", got, want)
	}
	stats := e.svc.Stats()
	if stats.RenderFailures != 1 || stats.DeadLetters != 1 {
		t.Errorf("Stats() render failures, dead letters = %d, %d; want 1, 1",
			stats.RenderFailures, stats.DeadLetters)
	}
}

func TestRenderFailureWithoutDeadLetter(t *testing.T) {
	template := &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{Template: "<x>"}}}
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern,
			&v1.Target{Id: "templated", ApiDestination: "jenkins", Input: template,
				DeadLetter: proto.Bool(false)}),
	}}
	e := start(t, rules)

	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	if got := len(e.tasks()); got != 0 {
		t.Errorf("got %d tasks, want 0", got)
	}
	if got := len(e.deadLetters()); got != 0 {
		t.Errorf("got %d dead letters, want 0", got)
	}
	failed := e.recordsByTarget("e1")["templated"]
	if got, want := failed.GetState(), v1.DeliveryState_DELIVERY_STATE_FAILED; got != want {
		t.Errorf("templated record state = %v, want %v", got, want)
	}
	if got := failed.GetErrorCode(); got != tasks.CodeRenderFailed {
		t.Errorf("templated record error code = %q, want %q", got, tasks.CodeRenderFailed)
	}
	if got := failed.GetErrorMessage(); !strings.Contains(got, "unknown variable <x>") {
		t.Errorf("templated record error message = %q, want the unknown variable", got)
	}
}

func TestTaskTooLargeDeadLettered(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern,
			&v1.Target{Id: "whole", ApiDestination: "jenkins"},
			&v1.Target{Id: "small", ApiDestination: "jenkins",
				Input: &v1.Input{Kind: &v1.Input_Path{Path: "$.id"}}}),
	}}
	// DELIVERIES takes a task that carries a full-size event twice, so
	// the test lowers the limit the service read from the stream, as an
	// operator-made stream with a smaller limit would.
	const limit = 64 << 10
	e := startAdjusted(t, rules, Config{Workers: 2, BatchSize: 64},
		func(s *Service) { s.maxTaskSize = limit })

	big := fmt.Sprintf(`{"specversion":"1.0","id":"e1","source":"github","type":"push",`+
		`"data":{"blob":%q}}`, strings.Repeat("x", limit/2+1024))
	e.publish("default", big, nil)
	e.waitIdle()

	queued := e.tasks()
	if len(queued) != 1 {
		t.Fatalf("got %d tasks, want 1", len(queued))
	}
	if got := queued[0].task.GetTargetId(); got != "small" {
		t.Errorf("task target = %q, want %q", got, "small")
	}
	whole := e.recordsByTarget("e1")["whole"]
	if got := whole.GetErrorCode(); got != tasks.CodeTaskTooLarge {
		t.Errorf("whole record error code = %q, want %q", got, tasks.CodeTaskTooLarge)
	}
	if got, want := whole.GetState(), v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED; got != want {
		t.Errorf("whole record state = %v, want %v", got, want)
	}

	letters := e.deadLetters()
	if len(letters) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(letters))
	}
	dl := letters[0].letter
	if got := dl.GetErrorCode(); got != tasks.CodeTaskTooLarge {
		t.Errorf("dead letter error code = %q, want %q", got, tasks.CodeTaskTooLarge)
	}
	if got := dl.GetTask().GetTargetId(); got != "whole" {
		t.Errorf("dead letter target = %q, want whole", got)
	}
	if got := string(dl.GetTask().GetEvent()); got != big {
		t.Errorf("dead letter event has %d bytes, want the original %d", len(got), len(big))
	}
	if got := e.svc.Stats().Retries; got != 0 {
		t.Errorf("Stats().Retries = %d, want 0", got)
	}
}

func TestFailedPublishRetriesEvent(t *testing.T) {
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)

	// Without the DELIVERIES stream no task can be stored, so the event
	// is handed back until the stream exists again.
	if err := e.js.DeleteStream(t.Context(), e.topology.Stream(streams.Deliveries)); err != nil {
		t.Fatal(err)
	}
	e.publish("default", event("e1", "push"), nil)
	eventually(t, 20*time.Second, "a retry", func() bool { return e.svc.Stats().Retries > 0 })

	if err := streams.Ensure(t.Context(), e.js, e.topology, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the task", func() bool { return len(e.tasks()) == 1 })
	e.waitIdle()
}

func TestRunStopsOnCancel(t *testing.T) {
	e := start(t, &testRules{})
	e.publish("default", event("e1", "push"), nil)
	e.waitIdle()

	stopped := make(chan struct{})
	go func() {
		e.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(25 * time.Second):
		t.Fatal("stop did not return")
	}
	select {
	case <-e.svc.changes.Closed():
	case <-time.After(5 * time.Second):
		t.Error("change watch still running 5s after Run returned")
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{
		NATS:   &nats.Conn{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Rules:  &testRules{},
	}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"no NATS", func(c *Config) { c.NATS = nil }, "NATS connection is missing"},
		{"no logger", func(c *Config) { c.Logger = nil }, "logger is missing"},
		{"no rules", func(c *Config) { c.Rules = nil }, "rule lister is missing"},
		{"batch too large", func(c *Config) { c.BatchSize = maxBatchSize + 1 }, "batch size"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers -1"},
		{"negative reload", func(c *Config) { c.ReloadInterval = -time.Second }, "reload interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			err := cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNakDelay(t *testing.T) {
	tests := []struct {
		delivered uint64
		want      time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{6, 32 * time.Second},
		{7, time.Minute},
		{1 << 40, time.Minute},
	}
	for _, tt := range tests {
		if got := nakDelay(tt.delivered); got != tt.want {
			t.Errorf("nakDelay(%d) = %v, want %v", tt.delivered, got, tt.want)
		}
	}
}
