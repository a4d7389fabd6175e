package ruleengine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// testRules is a RuleLister over rules that a test sets. It fails the
// first failures calls, to stand for a config service still starting.
type testRules struct {
	mu       sync.Mutex
	rules    []*v1.Rule
	failures int
	calls    int
}

func (r *testRules) ListRules(_ context.Context, bus string) ([]*v1.Rule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failures > 0 {
		r.failures--
		return nil, errors.New("config service unavailable")
	}
	var out []*v1.Rule
	for _, rule := range r.rules {
		if bus == "" || rule.GetBus() == bus {
			out = append(out, proto.Clone(rule).(*v1.Rule))
		}
	}
	return out, nil
}

func (r *testRules) set(rules ...*v1.Rule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = rules
}

// env is a rule engine running on its own embedded NATS server.
type env struct {
	t        *testing.T
	srv      *natstest.Server
	svc      *Service
	nc       *nats.Conn
	js       jetstream.JetStream
	topology streams.Topology
	rules    *testRules
	records  *records.Store
	// stop cancels Run and waits for it to return.
	stop func()
}

func start(t *testing.T, rules *testRules) *env {
	t.Helper()
	return startWith(t, rules, Config{Workers: 2, BatchSize: 64})
}

// startWith starts a service with cfg, whose NATS, Topology, Logger and
// Rules fields it sets.
func startWith(t *testing.T, rules *testRules, cfg Config) *env {
	t.Helper()
	return startAdjusted(t, rules, cfg, func(*Service) {})
}

// startAdjusted is startWith with a chance to adjust the service before
// it runs.
func startAdjusted(t *testing.T, rules *testRules, cfg Config, adjust func(*Service)) *env {
	t.Helper()
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, srv: srv, nc: nc, js: js, topology: srv.Topology, rules: rules}
	e.svc = e.newService(cfg)
	adjust(e.svc)
	e.stop = e.run(e.svc)
	t.Cleanup(e.stop)

	e.records, err = records.Open(t.Context(), js, srv.Topology)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) newService(cfg Config) *Service {
	e.t.Helper()
	cfg.NATS = e.nc
	cfg.Topology = e.topology
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Rules = e.rules
	svc, err := New(e.t.Context(), cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return svc
}

// run starts svc and returns a function that stops it, failing the test
// when Run returns an error or takes too long to stop.
func (e *env) run(svc *Service) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run = %v, want nil", err)
				}
			case <-time.After(20 * time.Second):
				e.t.Error("Run did not return within 20s of cancellation")
			}
		})
	}
}

// publish stores an event on events.<bus> as ingest would.
func (e *env) publish(bus, event string, header nats.Header) {
	e.t.Helper()
	msg := &nats.Msg{Subject: e.topology.EventsSubject(bus), Data: []byte(event), Header: header}
	if _, err := e.js.PublishMsg(e.t.Context(), msg); err != nil {
		e.t.Fatalf("publish event: %v", err)
	}
}

// waitIdle waits until the rule engine has settled every stored event.
func (e *env) waitIdle() {
	e.t.Helper()
	e.waitIdleWithin(10 * time.Second)
}

func (e *env) waitIdleWithin(timeout time.Duration) {
	e.t.Helper()
	stream, err := e.js.Stream(e.t.Context(), e.topology.Stream(streams.Events))
	if err != nil {
		e.t.Fatal(err)
	}
	eventually(e.t, timeout, "every event settled", func() bool {
		si, err := stream.Info(e.t.Context())
		if err != nil {
			return false
		}
		consumer, err := e.js.Consumer(e.t.Context(), e.topology.Stream(streams.Events), ConsumerName)
		if err != nil {
			return false
		}
		ci, err := consumer.Info(e.t.Context())
		if err != nil {
			return false
		}
		return ci.AckFloor.Stream >= si.State.LastSeq && ci.NumAckPending == 0
	})
}

// storedTask is a task read back from the DELIVERIES stream.
type storedTask struct {
	subject string
	header  nats.Header
	task    *internalv1.DeliveryTask
}

// tasks returns every task in the DELIVERIES stream. Nothing consumes the
// stream in these tests, so every task stays.
func (e *env) tasks() []storedTask {
	e.t.Helper()
	var out []storedTask
	for _, raw := range e.streamMsgs(streams.Deliveries) {
		task := &internalv1.DeliveryTask{}
		if err := proto.Unmarshal(raw.Data, task); err != nil {
			e.t.Fatalf("decode task %d: %v", raw.Sequence, err)
		}
		out = append(out, storedTask{subject: raw.Subject, header: raw.Header, task: task})
	}
	return out
}

// streamMsgs returns every message in the stream of the given name.
func (e *env) streamMsgs(name string) []*jetstream.RawStreamMsg {
	e.t.Helper()
	ctx := e.t.Context()
	stream, err := e.js.Stream(ctx, e.topology.Stream(name))
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}

	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatalf("get message %d of %s: %v", seq, name, err)
		}
		out = append(out, raw)
	}
	return out
}

// storedDeadLetter is a dead letter read back from the DEADLETTER
// stream.
type storedDeadLetter struct {
	header nats.Header
	letter *internalv1.DeadLetter
}

// deadLetters returns every dead letter in the DEADLETTER stream.
func (e *env) deadLetters() []storedDeadLetter {
	e.t.Helper()
	var out []storedDeadLetter
	for _, raw := range e.streamMsgs(streams.DeadLetter) {
		dl := &internalv1.DeadLetter{}
		if err := proto.Unmarshal(raw.Data, dl); err != nil {
			e.t.Fatalf("decode dead letter %d: %v", raw.Sequence, err)
		}
		out = append(out, storedDeadLetter{header: raw.Header, letter: dl})
	}
	return out
}

// recordsByTarget returns the delivery records of an event by target id.
func (e *env) recordsByTarget(eventID string) map[string]*v1.Delivery {
	e.t.Helper()
	recs, err := e.records.List(e.t.Context(), eventID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*v1.Delivery{}
	for _, r := range recs {
		out[r.GetTargetId()] = r
	}
	return out
}

// notifyRuleChange publishes the notice that config sends after a rule
// write.
func (e *env) notifyRuleChange(bus, name string) {
	e.t.Helper()
	change := &internalv1.ConfigChange{
		Kind: internalv1.ChangeKind_CHANGE_KIND_RULE, Bus: bus, Name: name,
	}
	data, err := proto.Marshal(change)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Publish(e.topology.ChangesSubject(), data); err != nil {
		e.t.Fatal(err)
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func rule(bus, name, pattern string, targets ...*v1.Target) *v1.Rule {
	return &v1.Rule{
		Bus:          bus,
		Name:         name,
		EventPattern: pattern,
		State:        v1.RuleState_RULE_STATE_ENABLED,
		Targets:      targets,
	}
}
