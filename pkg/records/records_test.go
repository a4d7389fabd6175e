package records_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func openStore(t *testing.T) *records.Store {
	t.Helper()
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, srv.Topology, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := records.Open(ctx, js, srv.Topology)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateUpdateList(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := "id with spaces/and.dots"
	for _, target := range []string{"a", "b"} {
		d := &v1.Delivery{EventId: id, EventSource: "src", Bus: "default", Rule: "r", TargetId: target,
			State: v1.DeliveryState_DELIVERY_STATE_PENDING}
		if err := s.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		// A second create, as after a rule engine restart, keeps the first.
		if err := s.Create(ctx, d); err != nil {
			t.Fatalf("second Create: %v", err)
		}
	}
	other := &v1.Delivery{EventId: id + "x", Bus: "default", Rule: "r", TargetId: "a"}
	if err := s.Create(ctx, other); err != nil {
		t.Fatal(err)
	}

	key := records.Key(id, "src", "default", "r", "a")
	err := s.Update(ctx, key, func(d *v1.Delivery) {
		d.State = v1.DeliveryState_DELIVERY_STATE_DELIVERED
		d.Attempts = append(d.Attempts, &v1.Attempt{Number: 1, StatusCode: 201})
	})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.List(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List returned %d records, want 2", len(got))
	}
	if got[0].GetState() != v1.DeliveryState_DELIVERY_STATE_DELIVERED {
		t.Errorf("target a state = %v, want delivered", got[0].GetState())
	}
	if n := len(got[0].GetAttempts()); n != 1 {
		t.Errorf("target a has %d attempts, want 1", n)
	}
}

func TestLongEventIDKeysAreShort(t *testing.T) {
	key := records.Key(strings.Repeat("x", 1000), "src", "b", "r", "t")
	if len(key) > 100 {
		t.Errorf("key length %d, want at most 100", len(key))
	}
}

func TestSameIDOtherSourceKeptApart(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, source := range []string{"/load", "/other"} {
		d := &v1.Delivery{EventId: "same-1", EventSource: source, Bus: "default",
			Rule: "r", TargetId: "t"}
		if err := s.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, "same-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List returned %d records, want one per source (2)", len(got))
	}
}

func TestCreateAsyncKeepsFirst(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, srv.Topology, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := records.Open(ctx, js, srv.Topology)
	if err != nil {
		t.Fatal(err)
	}

	first := &v1.Delivery{EventId: "e1", EventSource: "src", Bus: "default", Rule: "r",
		TargetId: "t", ErrorMessage: "first"}
	second := &v1.Delivery{EventId: "e1", EventSource: "src", Bus: "default", Rule: "r",
		TargetId: "t", ErrorMessage: "second"}
	for _, d := range []*v1.Delivery{first, second} {
		future, err := s.CreateAsync(js, d)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-future.Ok():
		case err := <-future.Err():
			if records.CreateFailed(err) {
				t.Fatalf("CreateAsync of %q failed: %v", d.GetErrorMessage(), err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("CreateAsync future did not resolve")
		}
	}

	got, err := s.List(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].GetErrorMessage() != "first" {
		t.Errorf("records = %v, want only the first", got)
	}
}
