package ruleengine

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// TestThroughput pushes a batch of events through, half of them
// matching, and checks that every match yields exactly one task. Set
// RULEENGINE_EVENTS to change the count; the rate goes to the test log.
func TestThroughput(t *testing.T) {
	count := 4000
	if v := os.Getenv("RULEENGINE_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 1_000_000 {
			t.Fatalf("RULEENGINE_EVENTS=%q: want an integer from 2 to 1000000", v)
		}
		count = n
	}
	rules := &testRules{rules: []*v1.Rule{
		rule("default", "build", pushPattern, &v1.Target{
			ApiDestination: "jenkins",
			PathValues:     []string{"$.data.repository.name"},
		}),
		rule("default", "never", `{"type": ["nothing"]}`, &v1.Target{ApiDestination: "jenkins"}),
	}}
	e := start(t, rules)

	// Publish asynchronously in windows, which JetStream bounds, while the
	// rule engine already works; the time covers both.
	const window = 1000
	began := time.Now()
	futures := make([]jetstream.PubAckFuture, 0, window)
	for i := range count {
		eventType := "push"
		if i%2 == 1 {
			eventType = "issue"
		}
		msg := &nats.Msg{
			Subject: e.topology.EventsSubject("default"),
			Data:    []byte(event(fmt.Sprintf("e%d", i), eventType)),
		}
		f, err := e.js.PublishMsgAsync(msg)
		if err != nil {
			t.Fatalf("publish event %d: %v", i, err)
		}
		futures = append(futures, f)
		if len(futures) == window || i == count-1 {
			awaitPublished(t, futures)
			futures = futures[:0]
		}
	}

	published := time.Since(began)
	e.waitIdleWithin(time.Minute)
	elapsed := time.Since(began)
	t.Logf("%d events (%d matching) published in %v, settled in %v: %.0f events/s",
		count, count/2, published.Round(time.Millisecond), elapsed.Round(time.Millisecond),
		float64(count)/elapsed.Seconds())

	stats := e.svc.Stats()
	if got, want := stats.Tasks, uint64(count/2); got != want {
		t.Errorf("Stats().Tasks = %d, want %d", got, want)
	}
	if stats.Retries != 0 {
		t.Errorf("Stats().Retries = %d, want 0", stats.Retries)
	}
}

func awaitPublished(t *testing.T, futures []jetstream.PubAckFuture) {
	t.Helper()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish event: %v", err)
		}
	}
}
