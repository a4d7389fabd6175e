package config

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestDestinationCircuitMerged(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("conn", "pw"),
	})
	mustOK(t, err)
	for _, name := range []string{"down", "fine"} {
		_, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
			ApiDestination: destination(name, "conn", "https://"+name+".example/"),
		})
		mustOK(t, err)
	}

	// Delivery publishes a state change as an ApiDestination with only
	// the circuit fields set.
	changed := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	value, err := proto.Marshal(&v1.ApiDestination{
		Name:              "down",
		CircuitState:      v1.CircuitState_CIRCUIT_STATE_OPEN,
		CircuitReason:     "5 consecutive failures, the last: HTTP 503",
		CircuitChangeTime: timestamppb.New(changed),
	})
	mustOK(t, err)
	kv, err := h.js(t).KeyValue(ctx, h.topology.Bucket(streams.BucketCircuits))
	mustOK(t, err)
	_, err = kv.Put(ctx, "down", value)
	mustOK(t, err)

	got, err := h.api.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: "down"})
	mustOK(t, err)
	if got.GetCircuitState() != v1.CircuitState_CIRCUIT_STATE_OPEN {
		t.Errorf("circuit_state = %v, want OPEN", got.GetCircuitState())
	}
	if got.GetCircuitReason() != "5 consecutive failures, the last: HTTP 503" {
		t.Errorf("circuit_reason = %q, want the published reason", got.GetCircuitReason())
	}
	if !got.GetCircuitChangeTime().AsTime().Equal(changed) {
		t.Errorf("circuit_change_time = %v, want %v", got.GetCircuitChangeTime().AsTime(), changed)
	}
	if got.GetUrl() != "https://down.example/" {
		t.Errorf("url = %q, want the stored destination's", got.GetUrl())
	}

	list, err := h.api.ListApiDestinations(ctx, &v1.ListApiDestinationsRequest{})
	mustOK(t, err)
	states := map[string]v1.CircuitState{}
	for _, d := range list.GetApiDestinations() {
		states[d.GetName()] = d.GetCircuitState()
	}
	if states["down"] != v1.CircuitState_CIRCUIT_STATE_OPEN {
		t.Errorf("listed circuit_state of down = %v, want OPEN", states["down"])
	}
	if states["fine"] != v1.CircuitState_CIRCUIT_STATE_CLOSED {
		t.Errorf("listed circuit_state of fine = %v, want CLOSED", states["fine"])
	}

	_, err = h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: "down"})
	mustOK(t, err)
	if _, err := kv.Get(ctx, "down"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("circuit entry after delete: Get() = %v, want ErrKeyNotFound", err)
	}
}

func TestDestinationCircuitNotWritable(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("conn", "pw"),
	})
	mustOK(t, err)
	d := destination("d", "conn", "https://d.example/")
	d.CircuitState = v1.CircuitState_CIRCUIT_STATE_OPEN
	d.CircuitReason = "set by a client"
	created, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{ApiDestination: d})
	mustOK(t, err)
	if created.GetCircuitReason() != "" {
		t.Errorf("created circuit_reason = %q, want it ignored", created.GetCircuitReason())
	}
	got, err := h.api.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: "d"})
	mustOK(t, err)
	if got.GetCircuitState() != v1.CircuitState_CIRCUIT_STATE_CLOSED || got.GetCircuitReason() != "" {
		t.Errorf("circuit = %v %q, want CLOSED without a reason", got.GetCircuitState(),
			got.GetCircuitReason())
	}
}
