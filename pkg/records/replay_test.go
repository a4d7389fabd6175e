package records_test

import (
	"context"
	"testing"

	"github.com/switchyard-dev/switchyard/pkg/records"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestReplayRecordKeptApart(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	first := &v1.Delivery{EventId: "e1", Bus: "default", Rule: "r", TargetId: "t",
		State: v1.DeliveryState_DELIVERY_STATE_DELIVERED}
	replayed := &v1.Delivery{EventId: "e1", Bus: "default", Rule: "r", TargetId: "t",
		ReplayId: "rp1", State: v1.DeliveryState_DELIVERY_STATE_PENDING}
	for _, d := range []*v1.Delivery{first, replayed} {
		if err := s.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.List(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List returned %d records, want 2", len(got))
	}
	if got[0].GetReplayId() != "" || got[0].GetState() != first.GetState() {
		t.Errorf("first record = %v, want the first delivery unchanged", got[0])
	}
	if got[1].GetReplayId() != "rp1" {
		t.Errorf("second record replay id = %q, want rp1", got[1].GetReplayId())
	}
}

func TestReplayKey(t *testing.T) {
	plain := records.Key("e1", "src", "b", "r", "t")
	if got := records.ReplayKey("e1", "src", "b", "r", "t", ""); got != plain {
		t.Errorf("ReplayKey without replay id = %q, want %q", got, plain)
	}
	if got, want := records.ReplayKey("e1", "src", "b", "r", "t", "rp1"), plain+".replay-rp1"; got != want {
		t.Errorf("ReplayKey = %q, want %q", got, want)
	}
}
