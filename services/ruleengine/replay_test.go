package ruleengine

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// replayRules has two rules that both match push events.
func replayRules() *testRules {
	return &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{ApiDestination: "jenkins"}),
		rule("default", "notify", pushPattern, &v1.Target{ApiDestination: "webhook"}),
	}}
}

// publishReplay stores an event on replay.<bus> as the config service's
// ReplayEvents does. msgID stands for the EVENTS sequence part of the
// message id.
func (e *env) publishReplay(bus, event, replayID, rule, msgID string) {
	e.t.Helper()
	msg := nats.NewMsg(e.topology.ReplaySubject(bus))
	msg.Data = []byte(event)
	msg.Header.Set(streams.HeaderMsgID, replayID+"-"+msgID)
	msg.Header.Set(streams.HeaderReplayID, replayID)
	msg.Header.Set("traceparent", traceParent)
	if rule != "" {
		msg.Header.Set(streams.HeaderReplayRule, rule)
	}
	if _, err := e.js.PublishMsg(e.t.Context(), msg); err != nil {
		e.t.Fatalf("publish replayed event: %v", err)
	}
}

// waitReplaysIdle waits until the rule engine has settled every
// replayed event.
func (e *env) waitReplaysIdle() {
	e.t.Helper()
	ctx := e.t.Context()
	eventually(e.t, 10*time.Second, "every replayed event settled", func() bool {
		stream, err := e.js.Stream(ctx, e.topology.Stream(streams.Replay))
		if err != nil {
			return false
		}
		si, err := stream.Info(ctx)
		if err != nil {
			return false
		}
		consumer, err := e.js.Consumer(ctx, e.topology.Stream(streams.Replay), ReplayConsumerName)
		if err != nil {
			return false
		}
		ci, err := consumer.Info(ctx)
		if err != nil {
			return false
		}
		return ci.AckFloor.Stream >= si.State.LastSeq && ci.NumAckPending == 0
	})
}

// replayedTasks returns the tasks marked replayed with replayID.
func replayedTasks(tasks []storedTask, replayID string) []storedTask {
	var out []storedTask
	for _, st := range tasks {
		if st.task.GetReplayId() == replayID {
			out = append(out, st)
		}
	}
	return out
}

func TestReplayPublishesReplayedTasks(t *testing.T) {
	e := start(t, replayRules())
	ev := event("e1", "push")
	e.publish("default", ev, nil)
	e.waitIdle()

	e.publishReplay("default", ev, "rp1", "", "1")
	e.waitReplaysIdle()

	tasks := e.tasks()
	if len(tasks) != 4 {
		t.Fatalf("got %d tasks, want 2 first and 2 replayed", len(tasks))
	}
	replayed := replayedTasks(tasks, "rp1")
	if len(replayed) != 2 {
		t.Fatalf("got %d tasks with replay id rp1, want 2", len(replayed))
	}
	for _, st := range replayed {
		task := st.task
		if !task.GetReplayed() {
			t.Errorf("task of rule %s: replayed = false, want true", task.GetRule())
		}
		first := streams.TaskMsgID("default", "github", "e1", task.GetRule(), task.GetTargetId())
		want := streams.ReplayTaskMsgID("rp1", "default", "github", "e1",
			task.GetRule(), task.GetTargetId())
		got := st.header.Get(streams.HeaderMsgID)
		if got == first {
			t.Errorf("task of rule %s has the first delivery's msg id", task.GetRule())
		}
		if got != want {
			t.Errorf("task of rule %s: msg id = %q, want %q", task.GetRule(), got, want)
		}
		if string(task.GetEvent()) != ev {
			t.Errorf("task event = %s, want %s", task.GetEvent(), ev)
		}
	}

	recs, err := e.records.List(t.Context(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("got %d delivery records, want 4", len(recs))
	}
	withID := 0
	for _, r := range recs {
		if r.GetReplayId() == "rp1" {
			withID++
		}
	}
	if withID != 2 {
		t.Errorf("got %d records with replay id rp1, want 2", withID)
	}
}

func TestReplayNamedRuleOnly(t *testing.T) {
	e := start(t, replayRules())
	e.publishReplay("default", event("e1", "push"), "rp2", "build", "1")
	e.waitReplaysIdle()

	tasks := e.tasks()
	if len(tasks) != 1 {
		t.Fatalf("got %d tasks, want 1", len(tasks))
	}
	if got := tasks[0].task.GetRule(); got != "build" {
		t.Errorf("task rule = %q, want build", got)
	}
	recs, err := e.records.List(t.Context(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Errorf("got %d delivery records, want 1", len(recs))
	}
}

func TestReplayHandledTwicePublishesOnce(t *testing.T) {
	e := start(t, replayRules())
	// Two copies with different message ids stand for a replayed event
	// handled again after a crash before its ack.
	e.publishReplay("default", event("e1", "push"), "rp3", "", "1")
	e.publishReplay("default", event("e1", "push"), "rp3", "", "1-again")
	e.waitReplaysIdle()

	if got := len(e.tasks()); got != 2 {
		t.Errorf("got %d tasks, want 2", got)
	}
}

func TestLiveEventIgnoresReplayHeaders(t *testing.T) {
	e := start(t, replayRules())
	e.publish("default", event("e1", "push"), nats.Header{
		streams.HeaderReplayID:   {"forged"},
		streams.HeaderReplayRule: {"build"},
	})
	e.waitIdle()

	tasks := e.tasks()
	if len(tasks) != 2 {
		t.Fatalf("got %d tasks, want 2: one per rule", len(tasks))
	}
	for _, st := range tasks {
		if st.task.GetReplayed() || st.task.GetReplayId() != "" {
			t.Errorf("task of rule %s marked replayed (id %q), want a live task",
				st.task.GetRule(), st.task.GetReplayId())
		}
	}
}
