package delivery

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const testBus = "default"

// fakeResolver serves destinations from a map, as config's Resolver
// would, and counts the calls per destination.
type fakeResolver struct {
	mu    sync.Mutex
	dests map[string]*internalv1.ResolvedDestination
	calls map[string]int
}

func (f *fakeResolver) ResolveDestination(_ context.Context, req *internalv1.ResolveDestinationRequest,
	_ ...grpc.CallOption) (*internalv1.ResolvedDestination, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[req.GetName()]++
	r, ok := f.dests[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "api destination %q not found", req.GetName())
	}
	return proto.Clone(r).(*internalv1.ResolvedDestination), nil
}

func (f *fakeResolver) set(dest *v1.ApiDestination, conn *v1.Connection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dest.Connection = conn.GetName()
	f.dests[dest.GetName()] = &internalv1.ResolvedDestination{ApiDestination: dest, Connection: conn}
}

func (f *fakeResolver) callCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// harness is one test's NATS server, resolver and records.
type harness struct {
	t        *testing.T
	nats     *natstest.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	resolver *fakeResolver
	records  *records.Store
	// realResolver is config's Resolver, set by startConfig.
	realResolver Resolver
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ns := natstest.Start(t)
	nc := ns.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, ns.Topology, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	store, err := records.Open(ctx, js, ns.Topology)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t: t, nats: ns, nc: nc, js: js, records: store,
		resolver: &fakeResolver{
			dests: map[string]*internalv1.ResolvedDestination{},
			calls: map[string]int{},
		},
	}
}

func (h *harness) config() Config {
	return Config{
		NATS:            h.nc,
		Topology:        h.nats.Topology,
		Logger:          testLogger(h.t),
		Resolver:        h.resolver,
		Version:         "test",
		ShutdownTimeout: 200 * time.Millisecond,
	}
}

// start runs a service until the test ends, or until the returned stop
// is called, which waits for Run to return.
func (h *harness) start(cfg Config) (stop func()) {
	_, stop = h.startService(cfg)
	return stop
}

func (h *harness) startService(cfg Config) (svc *Service, stop func()) {
	h.t.Helper()
	svc, err := New(context.Background(), cfg)
	if err != nil {
		h.t.Fatalf("New() = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("Run() = %v, want nil", err)
			}
		})
	}
	h.t.Cleanup(stop)
	return svc, stop
}

func (h *harness) publish(task *internalv1.DeliveryTask) {
	h.t.Helper()
	h.publishWithID(task, streams.TaskMsgID(task.GetBus(), task.GetEventSource(),
		task.GetEventId(), task.GetRule(), task.GetTargetId()))
}

func (h *harness) publishWithID(task *internalv1.DeliveryTask, msgID string) {
	h.t.Helper()
	data, err := proto.Marshal(task)
	if err != nil {
		h.t.Fatal(err)
	}
	msg := nats.NewMsg(h.nats.Topology.DeliveriesSubject(task.GetApiDestination()))
	msg.Data = data
	msg.Header.Set(streams.HeaderMsgID, msgID)
	if _, err := h.js.PublishMsg(context.Background(), msg); err != nil {
		h.t.Fatalf("publish task: %v", err)
	}
}

// record returns the delivery record of task, or nil.
func (h *harness) record(task *internalv1.DeliveryTask) *v1.Delivery {
	h.t.Helper()
	list, err := h.records.List(context.Background(), task.GetEventId())
	if err != nil {
		h.t.Fatalf("list records: %v", err)
	}
	for _, d := range list {
		if d.GetRule() == task.GetRule() && d.GetTargetId() == task.GetTargetId() {
			return d
		}
	}
	return nil
}

// waitState polls the record of task until it reaches state.
func (h *harness) waitState(task *internalv1.DeliveryTask, state v1.DeliveryState) *v1.Delivery {
	h.t.Helper()
	var last *v1.Delivery
	ok := poll(10*time.Second, func() bool {
		last = h.record(task)
		return last.GetState() == state
	})
	if !ok {
		h.t.Fatalf("record of %s: state %v, want %v (record %v)",
			task.GetEventId(), last.GetState(), state, last)
	}
	return last
}

// deadLetter polls the DEADLETTER stream for the last dead letter of
// the test bus.
func (h *harness) deadLetter() *internalv1.DeadLetter {
	dl, _ := h.deadLetterMsg()
	return dl
}

// deadLetterMsg returns the last dead letter of the test bus and its
// message id.
func (h *harness) deadLetterMsg() (*internalv1.DeadLetter, string) {
	h.t.Helper()
	ctx := context.Background()
	stream, err := h.js.Stream(ctx, h.nats.Topology.Stream(streams.DeadLetter))
	if err != nil {
		h.t.Fatal(err)
	}
	var raw *jetstream.RawStreamMsg
	poll(10*time.Second, func() bool {
		raw, err = stream.GetLastMsgForSubject(ctx, h.nats.Topology.DeadLetterSubject(testBus))
		return err == nil
	})
	if err != nil {
		h.t.Fatalf("read dead letter: %v", err)
	}
	dl := &internalv1.DeadLetter{}
	if err := proto.Unmarshal(raw.Data, dl); err != nil {
		h.t.Fatal(err)
	}
	return dl, raw.Header.Get(streams.HeaderMsgID)
}

// deadLetterCount returns how many dead letters the stream holds.
func (h *harness) deadLetterCount() uint64 {
	h.t.Helper()
	stream, err := h.js.Stream(context.Background(), h.nats.Topology.Stream(streams.DeadLetter))
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

// poll calls cond until it returns true or timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newTask(dest, eventID string) *internalv1.DeliveryTask {
	return &internalv1.DeliveryTask{
		Bus:            testBus,
		EventId:        eventID,
		EventSource:    "test",
		Rule:           "rule1",
		TargetId:       "target1",
		ApiDestination: dest,
		Request: &internalv1.RenderedRequest{
			Body: []byte(`{"hello":"world"}`),
		},
		RetryPolicy: &v1.RetryPolicy{
			BackoffBase: durationpb.New(10 * time.Millisecond),
			BackoffMax:  durationpb.New(20 * time.Millisecond),
		},
		DeadLetter: true,
		Event:      []byte(`{"id":"` + eventID + `"}`),
		IngestTime: timestamppb.Now(),
	}
}

func basicConnection(network v1.Network) *v1.Connection {
	return &v1.Connection{
		Name:    "conn1",
		Network: network,
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{
			Username: "jenkins", Password: "s3cret-token",
		}},
	}
}

func destination(name, url string) *v1.ApiDestination {
	return &v1.ApiDestination{Name: name, Url: url, Method: http.MethodPost}
}

// serve starts an HTTP server on 127.0.0.1 that the test's cleanup
// closes.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// retryAfterHour adds Retry-After: 3600 to every response of next. The
// backoff retry after a 401 then comes after MaxRetryAfter, 10 min, so
// a second call within a test is one made at once.
func retryAfterHour(next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		next.ServeHTTP(w, r)
	}
}

// testLogger writes to the test log, so a failing test shows what the
// service did.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
