package streams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

func TestTopologyNames(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"default events stream", streams.Topology{}.Stream(streams.Events), "EVENTS"},
		{"default ingest subject", streams.Topology{}.IngestSubject("default"), "ingest.default"},
		{"default changes", streams.Topology{}.ChangesSubject(), "config.changes"},
		{"prefixed stream", streams.Topology{Prefix: "t1"}.Stream(streams.Events), "T1_EVENTS"},
		{"prefixed subject", streams.Topology{Prefix: "t1"}.EventsSubject("b"), "t1.events.b"},
		{"prefixed bucket", streams.Topology{Prefix: "t1"}.Bucket(streams.BucketRules), "t1_sy_rules"},
		{"bus from subject", streams.BusFromSubject("t1.events.orders"), "orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestMsgIDsDiffer(t *testing.T) {
	a := streams.EventMsgID("default", "src", "1")
	b := streams.EventMsgID("default", "src1", "")
	if a == b {
		t.Errorf("EventMsgID joined parts ambiguously: both %q", a)
	}
	if streams.TaskMsgID("b", "s", "e", "r", "t1") == streams.TaskMsgID("b", "s", "e", "r", "t2") {
		t.Error("TaskMsgID is the same for two targets")
	}
}

func TestEnsureIdempotent(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if err := streams.Ensure(ctx, js, srv.Topology, streams.Options{}); err != nil {
			t.Fatalf("Ensure call %d: %v", i+1, err)
		}
	}
	s, err := js.Stream(ctx, srv.Topology.Stream(streams.Deliveries))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Retention; got != jetstream.WorkQueuePolicy {
		t.Errorf("DELIVERIES retention = %v, want work queue", got)
	}
}

func TestDeleteKeepsOtherPrefixes(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deleted := streams.Topology{Prefix: "run1"}
	other := streams.Topology{Prefix: "run12"}
	for _, tp := range []streams.Topology{deleted, other} {
		if err := streams.Ensure(ctx, js, tp, streams.Options{Owner: true}); err != nil {
			t.Fatal(err)
		}
	}

	if err := streams.Delete(ctx, js, deleted); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	var left []string
	for name := range js.StreamNames(ctx).Name() {
		left = append(left, name)
	}
	for _, name := range left {
		if strings.HasPrefix(name, "RUN1_") || strings.HasPrefix(name, "KV_run1_") {
			t.Errorf("stream %s of the deleted topology is left", name)
		}
	}
	if _, err := js.Stream(ctx, other.Stream(streams.Events)); err != nil {
		t.Errorf("stream of prefix run12 is gone: %v", err)
	}
	if _, err := js.KeyValue(ctx, other.Bucket(streams.BucketDeliveries)); err != nil {
		t.Errorf("bucket of prefix run12 is gone: %v", err)
	}
}

func TestDeleteRejectsEmptyPrefix(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := streams.Delete(context.Background(), js, streams.Topology{}); err == nil {
		t.Error("Delete of a topology without a prefix succeeded")
	}
}

// TestPullOptionsAccepted checks that nats.go accepts the services'
// pull expiry and heartbeat together, and that a consumer pulling with
// them receives a message.
func TestPullOptionsAccepted(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, js, srv.Topology, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, srv.Topology.Stream(streams.Deliveries),
		jetstream.ConsumerConfig{Durable: "pull-options", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}

	it, err := cons.Messages(jetstream.PullExpiry(streams.PullExpiry),
		jetstream.PullHeartbeat(streams.PullHeartbeat))
	if err != nil {
		t.Fatalf("Messages with PullExpiry %v and PullHeartbeat %v: %v",
			streams.PullExpiry, streams.PullHeartbeat, err)
	}
	defer it.Stop()
	if _, err := js.Publish(ctx, srv.Topology.DeliveriesSubject("d"), []byte("task")); err != nil {
		t.Fatal(err)
	}
	msg, err := it.Next(jetstream.NextContext(ctx))
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if got := string(msg.Data()); got != "task" {
		t.Errorf("message data = %q, want %q", got, "task")
	}
}
