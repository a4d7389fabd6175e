package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

func TestWatchChangesAcrossRestart(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := streams.Ensure(ctx, js, srv.Topology, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	publish := func(data string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			// The message id keeps a publish retried after a lost ack
			// from storing the notice twice.
			_, err := js.Publish(pctx, srv.Topology.ChangesSubject(), []byte(data),
				jetstream.WithMsgID(data))
			cancel()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish %q: %v", data, err)
			}
		}
	}

	publish("before")
	got := make(chan string, 10)
	cc, err := streams.WatchChanges(ctx, js, srv.Topology, func(data []byte) { got <- string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()

	publish("first")
	srv.Restart(t)
	publish("second")

	for _, want := range []string{"first", "second"} {
		select {
		case data := <-got:
			if data != want {
				t.Fatalf("notice = %q, want %q", data, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("notice %q not delivered within 30s", want)
		}
	}
	select {
	case data := <-got:
		t.Errorf("extra notice %q", data)
	default:
	}
}
