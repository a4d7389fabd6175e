package delivery

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// connectionStates records whether each connection's credentials work,
// in the connection state bucket that config merges into the
// connections it returns. A value is a Connection with only name,
// revision, state and state_reason, and it applies to that revision
// only, so an updated connection reads as config stored it (authorized,
// or authorizing for OAuth) until delivery reports on the new
// credentials.
//
// The bucket is written only when the state changes. The last state
// written or read is kept per connection, so a delivery whose state did
// not change costs no KV call. It is safe for concurrent use.
type connectionStates struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu    sync.Mutex
	known map[string]connectionState
}

type connectionState struct {
	revision int64
	state    v1.ConnectionState
	reason   string
}

func newConnectionStates(kv jetstream.KeyValue, log *slog.Logger) *connectionStates {
	return &connectionStates{kv: kv, log: log, known: map[string]connectionState{}}
}

// authOutcome returns the state that the last attempt of a delivery
// shows, or false when it shows nothing about the credentials: only a
// success, a rejected credential and a token endpoint's 4xx other than
// 408 and 429 do.
func authOutcome(res attemptResult) (connectionState, bool) {
	s := connectionState{revision: res.connection.GetRevision()}
	switch {
	case res.outcome.Kind == retry.Success:
		s.state = v1.ConnectionState_CONNECTION_STATE_AUTHORIZED
	case credentialRejected(res), rejectedByTokenEndpoint(res.tokenStatus):
		s.state = v1.ConnectionState_CONNECTION_STATE_DEAUTHORIZED
		s.reason = res.outcome.Reason
	default:
		return connectionState{}, false
	}
	return s, true
}

func rejectedByTokenEndpoint(status int) bool {
	return status >= 400 && status < 500 &&
		status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// record stores the state that res shows for its connection, if it
// changed. A failed KV call is logged and the delivery goes on, since
// the state is a view for users.
func (c *connectionStates) record(ctx context.Context, res attemptResult) {
	want, ok := authOutcome(res)
	name := res.connection.GetName()
	if !ok || name == "" {
		return
	}
	c.mu.Lock()
	known, seen := c.known[name]
	c.mu.Unlock()
	if seen && known == want {
		return
	}

	stored, found, err := c.read(ctx, name)
	if err != nil {
		c.log.Warn("read connection state failed", "connection", name, "error", err)
		return
	}
	// No value reads as the state config stored: authorized, except an
	// OAuth connection, which reads as authorizing until a token works.
	// A newer revision has its own state, which an attempt with older
	// credentials does not show.
	oauth := res.connection.GetOauthClientCredentials() != nil
	unchanged := !found && !oauth && want.state == v1.ConnectionState_CONNECTION_STATE_AUTHORIZED
	if unchanged || (found && (stored.revision > want.revision || stored == want)) {
		c.remember(name, want)
		return
	}
	if err := c.write(ctx, name, want); err != nil {
		c.log.Warn("write connection state failed", "connection", name, "error", err)
		return
	}
	c.remember(name, want)
	c.log.Info("connection state changed", "connection", name,
		"revision", want.revision, "state", want.state.String(), "reason", want.reason)
}

func (c *connectionStates) remember(name string, s connectionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known[name] = s
}

// read returns the stored state of a connection and whether there is
// one. An undecodable value counts as none, so the next write replaces
// it.
func (c *connectionStates) read(ctx context.Context, name string) (connectionState, bool, error) {
	entry, err := c.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return connectionState{}, false, nil
	}
	if err != nil {
		return connectionState{}, false, err
	}
	stored := &v1.Connection{}
	if err := proto.Unmarshal(entry.Value(), stored); err != nil {
		return connectionState{}, false, nil
	}
	s := connectionState{
		revision: stored.GetRevision(),
		state:    stored.GetState(),
		reason:   stored.GetStateReason(),
	}
	return s, true, nil
}

func (c *connectionStates) write(ctx context.Context, name string, s connectionState) error {
	data, err := proto.Marshal(&v1.Connection{
		Name:        name,
		Revision:    s.revision,
		State:       s.state,
		StateReason: s.reason,
	})
	if err != nil {
		return err
	}
	_, err = c.kv.Put(ctx, name, data)
	return err
}

// recordConnectionState records what the last attempt of a delivery
// shows about its connection's credentials.
func (s *Service) recordConnectionState(res attemptResult) {
	ctx, cancel := bookkeepingContext()
	defer cancel()
	s.states.record(ctx, res)
}
