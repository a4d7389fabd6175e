package config

import (
	"context"
	"errors"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// connectionStates reads the authorization state that delivery records
// per connection in the connection state bucket. Delivery writes a
// Connection with only name, revision, state and state_reason, and the
// state applies only to that revision: an update gives the connection a
// new revision, so it reads as stored (AUTHORIZED, or AUTHORIZING for
// OAuth) until delivery reports on the new credentials.
type connectionStates struct {
	kv  jetstream.KeyValue
	log *slog.Logger
}

// openConnectionStates opens the bucket for one read of the API. A
// failure is logged and leaves the stored state, because the state is
// a view and the connection itself was read.
func (s *Service) openConnectionStates(ctx context.Context) *connectionStates {
	kv, err := s.js.KeyValue(ctx, s.cfg.Topology.Bucket(streams.BucketConnectionState))
	if err != nil {
		s.log.Warn("open connection state bucket failed", "error", err)
		return nil
	}
	return &connectionStates{kv: kv, log: s.log}
}

// merge sets the state that delivery recorded for c's revision on c.
// A nil receiver leaves c unchanged.
func (cs *connectionStates) merge(ctx context.Context, c *v1.Connection) {
	if cs == nil {
		return
	}
	entry, err := cs.kv.Get(ctx, c.GetName())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	if err != nil {
		cs.log.Warn("read connection state failed", "connection", c.GetName(), "error", err)
		return
	}
	recorded := &v1.Connection{}
	if err := proto.Unmarshal(entry.Value(), recorded); err != nil {
		cs.log.Warn("connection state is undecodable", "connection", c.GetName(), "error", err)
		return
	}
	unspecified := recorded.GetState() == v1.ConnectionState_CONNECTION_STATE_UNSPECIFIED
	if recorded.GetRevision() != c.GetRevision() || unspecified {
		return
	}
	c.State = recorded.GetState()
	c.StateReason = recorded.GetStateReason()
}
