package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

func TestReplayTaskMsgIDDiffers(t *testing.T) {
	first := streams.TaskMsgID("b", "s", "e", "r", "t")
	replay1 := streams.ReplayTaskMsgID("rp1", "b", "s", "e", "r", "t")
	replay2 := streams.ReplayTaskMsgID("rp2", "b", "s", "e", "r", "t")
	if replay1 == first {
		t.Error("ReplayTaskMsgID equals TaskMsgID of the first delivery")
	}
	if replay1 == replay2 {
		t.Error("ReplayTaskMsgID is the same for two replay ids")
	}
	if again := streams.ReplayTaskMsgID("rp1", "b", "s", "e", "r", "t"); again != replay1 {
		t.Errorf("ReplayTaskMsgID = %q on a repeat, want %q", again, replay1)
	}
}

func TestEnsureCreatesReplayQueue(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := streams.Options{EventsMaxAge: 90 * time.Minute}
	if err := streams.Ensure(ctx, js, srv.Topology, opts); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, srv.Topology.Stream(streams.Replay))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Retention != jetstream.WorkQueuePolicy {
		t.Errorf("REPLAY retention = %v, want work queue", cfg.Retention)
	}
	if cfg.MaxAge != opts.EventsMaxAge {
		t.Errorf("REPLAY max age = %v, want %v", cfg.MaxAge, opts.EventsMaxAge)
	}
	if got, want := cfg.Subjects[0], srv.Topology.ReplaySubject(">"); got != want {
		t.Errorf("REPLAY subject = %q, want %q", got, want)
	}
}
