package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	switchyardv1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// fakeBuses is a BusGetter over a set of names, responding as the config
// service does: NotFound for an unknown bus, Unavailable while down.
type fakeBuses struct {
	mu    sync.Mutex
	names map[string]bool
	down  bool
	calls atomic.Int64
}

func newFakeBuses(names ...string) *fakeBuses {
	b := &fakeBuses{names: make(map[string]bool)}
	for _, n := range names {
		b.names[n] = true
	}
	return b
}

func (b *fakeBuses) GetBus(_ context.Context, in *switchyardv1.GetBusRequest, _ ...grpc.CallOption) (*switchyardv1.Bus, error) {
	b.calls.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return nil, status.Error(codes.Unavailable, "config is down")
	}
	if !b.names[in.GetName()] {
		return nil, status.Errorf(codes.NotFound, "bus %q not found", in.GetName())
	}
	return &switchyardv1.Bus{Name: in.GetName()}, nil
}

func (b *fakeBuses) set(name string, exists bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.names[name] = exists
}

func (b *fakeBuses) setDown(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = down
}

// harness is a running Service on its own embedded NATS server.
type harness struct {
	svc    *Service
	server *natstest.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	topo   streams.Topology
	url    string
}

// start runs a Service until the test ends, then checks that Run
// returned nil.
func start(t *testing.T, buses BusGetter) *harness {
	t.Helper()
	ns := natstest.Start(t)
	nc := ns.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	svc, err := New(ctx, Config{
		NATS:     nc,
		Topology: ns.Topology,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Buses:    buses,
		Listen:   "127.0.0.1:0",
	})
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	svc.nakDelay = 50 * time.Millisecond

	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})

	return &harness{
		svc:    svc,
		server: ns,
		nc:     nc,
		js:     js,
		topo:   ns.Topology,
		url:    "http://" + svc.Addr().String(),
	}
}

// post sends body to the bus's events endpoint and decodes the response.
func (h *harness) post(t *testing.T, bus string, header http.Header, body []byte) (int, Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/v1/buses/"+bus+"/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()

	var out Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode response (status %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func contentType(ct string) http.Header {
	return http.Header{"Content-Type": {ct}}
}

// storedMsg is a message read back from a stream.
type storedMsg struct {
	subject string
	header  nats.Header
	data    []byte
}

// readStream reads every message of a stream with an ordered consumer,
// oldest first.
func (h *harness) readStream(t *testing.T, name string) []storedMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stream, err := h.js.Stream(ctx, h.topo.Stream(name))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := int(info.State.Msgs)
	if count == 0 {
		return nil
	}

	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(count, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []storedMsg
	for m := range batch.Messages() {
		msgs = append(msgs, storedMsg{subject: m.Subject(), header: m.Headers(), data: m.Data()})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		t.Fatal(err)
	}
	if len(msgs) != count {
		t.Fatalf("read %d messages from %s, want %d", len(msgs), name, count)
	}
	return msgs
}

// streamCount returns the number of messages in a stream.
func (h *harness) streamCount(t *testing.T, name string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := h.js.Stream(ctx, h.topo.Stream(name))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// decodeJSON decodes a JSON object for comparison.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("stored data is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
