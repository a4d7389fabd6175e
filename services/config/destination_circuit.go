package config

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// mergeCircuits fills the circuit fields of each destination from the
// circuits bucket, where delivery replicas publish every state change
// of a destination's circuit breaker. A destination without an entry
// has had no change: its calls flow, and it shows as CLOSED.
//
// Reading the bucket is best effort, because the state is for display:
// on a failure the fields stay unset and a warning is logged.
func (s *Service) mergeCircuits(ctx context.Context, ds []*v1.ApiDestination) {
	for _, d := range ds {
		clearCircuit(d)
	}
	if len(ds) == 0 {
		return
	}
	bucket := s.cfg.Topology.Bucket(streams.BucketCircuits)
	kv, err := s.js.KeyValue(ctx, bucket)
	if err != nil {
		s.log.Warn("open circuits bucket failed", "bucket", bucket, "error", err)
		return
	}
	for _, d := range ds {
		if err := mergeCircuit(ctx, kv, d); err != nil {
			s.log.Warn("read circuit state failed", "destination", d.GetName(), "error", err)
		}
	}
}

func mergeCircuit(ctx context.Context, kv jetstream.KeyValue, d *v1.ApiDestination) error {
	entry, err := kv.Get(ctx, d.GetName())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		d.CircuitState = v1.CircuitState_CIRCUIT_STATE_CLOSED
		return nil
	}
	if err != nil {
		return err
	}
	published := &v1.ApiDestination{}
	if err := proto.Unmarshal(entry.Value(), published); err != nil {
		return err
	}
	d.CircuitState = published.GetCircuitState()
	d.CircuitReason = published.GetCircuitReason()
	d.CircuitChangeTime = published.GetCircuitChangeTime()
	return nil
}

// clearCircuit drops the circuit fields, which are output only.
func clearCircuit(d *v1.ApiDestination) {
	d.CircuitState = v1.CircuitState_CIRCUIT_STATE_UNSPECIFIED
	d.CircuitReason = ""
	d.CircuitChangeTime = nil
}

// forgetCircuit removes a deleted destination's circuit state, so a
// destination created later under the same name does not show it. A
// failure is logged, because the destination is already deleted.
func (s *Service) forgetCircuit(ctx context.Context, name string) {
	bucket := s.cfg.Topology.Bucket(streams.BucketCircuits)
	kv, err := s.js.KeyValue(ctx, bucket)
	if err == nil {
		err = kv.Purge(ctx, name)
	}
	if err != nil {
		s.log.Warn("remove circuit state failed", "destination", name, "error", err)
	}
}
