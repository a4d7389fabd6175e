package config

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const testToken = "test-internal-token"

// harness is one running config service with clients to it.
type harness struct {
	svc      *Service
	nc       *nats.Conn
	topology streams.Topology
	conn     *grpc.ClientConn
	api      v1.ConfigServiceClient
	logs     *bytes.Buffer
}

// env is a NATS server that several services of one test share.
type env struct {
	server *natstest.Server
	nc     *nats.Conn
}

func newEnv(t *testing.T) *env {
	t.Helper()
	server := natstest.Start(t)
	return &env{server: server, nc: server.Connect(t)}
}

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// start runs a service with keys on the env and stops it at cleanup.
func (e *env) start(t *testing.T, keys ...[]byte) *harness {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{newKey(t)}
	}
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc, err := New(ctx, Config{
		NATS:          e.nc,
		Topology:      e.server.Topology,
		Logger:        logger,
		Listen:        "127.0.0.1:0",
		SecretKeys:    keys,
		InternalToken: testToken,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})

	conn, err := configclient.Dial(svc.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &harness{
		svc:      svc,
		nc:       e.nc,
		topology: e.server.Topology,
		conn:     conn,
		api:      v1.NewConfigServiceClient(conn),
		logs:     logs,
	}
}

// startService starts a fresh NATS server and one service on it.
func startService(t *testing.T) *harness {
	t.Helper()
	return newEnv(t).start(t)
}

// resolver returns a Resolver client that presents token, or none when
// token is empty.
func (h *harness) resolver(t *testing.T, token string) internalv1.ResolverClient {
	t.Helper()
	var opts []grpc.DialOption
	if token != "" {
		opts = append(opts, configclient.InternalToken(token))
	}
	conn, err := configclient.Dial(h.svc.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return internalv1.NewResolverClient(conn)
}

// bucket opens one of the topology's KV buckets for raw reads.
func (h *harness) bucket(t *testing.T, name string) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(testContext(t), h.topology.Bucket(name))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode fails the test unless err is a status with code and a
// message containing every part. An InvalidArgument status must also
// carry one BadRequest field violation whose field and description make
// up the message.
func wantCode(t *testing.T, err error, code codes.Code, parts ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	for _, p := range parts {
		if !strings.Contains(st.Message(), p) {
			t.Errorf("message %q does not contain %q", st.Message(), p)
		}
	}
	if code == codes.InvalidArgument {
		v := violation(t, st)
		if got := v.GetField() + ": " + v.GetDescription(); got != st.Message() {
			t.Errorf("field and description = %q, want the message %q", got, st.Message())
		}
	}
}

// violation returns the one BadRequest field violation of st.
func violation(t *testing.T, st *status.Status) *errdetails.BadRequest_FieldViolation {
	t.Helper()
	var found []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			found = append(found, br.GetFieldViolations()...)
		}
	}
	if len(found) != 1 {
		t.Fatalf("status %q has %d field violations, want 1", st.Message(), len(found))
	}
	return found[0]
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Fixtures that most tests build on.

func basicConnection(name, password string) *v1.Connection {
	return &v1.Connection{
		Name: name,
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{
			Username: "jenkins-bot", Password: password,
		}},
	}
}

func destination(name, connection, url string) *v1.ApiDestination {
	return &v1.ApiDestination{Name: name, Url: url, Method: "post", Connection: connection}
}

func rule(bus, name string, targets ...*v1.Target) *v1.Rule {
	return &v1.Rule{
		Bus: bus, Name: name,
		EventPattern: `{"source": ["ci"]}`,
		Targets:      targets,
	}
}

// seed creates connection "conn", destination "dest" with one "*" in
// its URL, and rule "build" on the default bus that targets it.
func (h *harness) seed(t *testing.T) {
	t.Helper()
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("conn", "s3cret-token"),
	})
	mustOK(t, err)
	_, err = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination("dest", "conn", "https://jenkins.example/job/*/build"),
	})
	mustOK(t, err)
	_, err = h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: rule("", "build",
		&v1.Target{ApiDestination: "dest", PathValues: []string{"$.data.job"}})})
	mustOK(t, err)
}

func TestDefaultBusExists(t *testing.T) {
	e := newEnv(t)
	h := e.start(t)
	ctx := testContext(t)

	b, err := h.api.GetBus(ctx, &v1.GetBusRequest{Name: DefaultBus})
	mustOK(t, err)
	if b.GetRevision() == 0 || b.GetCreateTime() == nil {
		t.Errorf("default bus = %v, want a revision and a create time", b)
	}

	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: DefaultBus})
	wantCode(t, err, codes.FailedPrecondition, `"default"`, "cannot be deleted")

	// A second service on the same buckets finds the bus and keeps it.
	h2 := e.start(t)
	again, err := h2.api.GetBus(ctx, &v1.GetBusRequest{Name: DefaultBus})
	mustOK(t, err)
	if again.GetRevision() != b.GetRevision() {
		t.Errorf("revision after restart = %d, want %d", again.GetRevision(), b.GetRevision())
	}
}

func TestHealthServing(t *testing.T) {
	h := startService(t)
	client := healthpb.NewHealthClient(h.conn)
	ctx := testContext(t)

	// Run sets SERVING right after it starts serving, so poll briefly.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health = %v, %v; want SERVING", resp.GetStatus(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	nc := &nats.Conn{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	key := [][]byte{make([]byte, KeySize)}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no NATS", Config{Logger: logger, SecretKeys: key, InternalToken: "t"}, "NATS"},
		{"no logger", Config{NATS: nc, SecretKeys: key, InternalToken: "t"}, "Logger"},
		{"no key", Config{NATS: nc, Logger: logger, InternalToken: "t"}, EnvSecretKey},
		{"no token", Config{NATS: nc, Logger: logger, SecretKeys: key}, EnvInternalToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}

	good := Config{NATS: nc, Logger: logger, SecretKeys: key, InternalToken: "t"}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	if good.Listen != DefaultListen {
		t.Errorf("Listen = %q, want %q", good.Listen, DefaultListen)
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	e := newEnv(t)
	_, err := New(testContext(t), Config{
		NATS: e.nc, Topology: e.server.Topology,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listen:     "127.0.0.1:0",
		SecretKeys: [][]byte{[]byte("short")}, InternalToken: testToken,
	})
	if err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("New with a 5-byte key = %v, want an error naming the size", err)
	}
}

var errTest = errors.New("test")

func TestGRPCErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{classErrorf(ErrInvalidArgument, "x"), codes.InvalidArgument},
		{invalidf("bus.name", "x"), codes.InvalidArgument},
		{fmt.Errorf("update: %w", invalidf("bus.name", "x")), codes.InvalidArgument},
		{classErrorf(ErrNotFound, "x"), codes.NotFound},
		{classErrorf(ErrAlreadyExists, "x"), codes.AlreadyExists},
		{classErrorf(ErrStaleRevision, "x"), codes.Aborted},
		{classErrorf(ErrFailedPrecondition, "x"), codes.FailedPrecondition},
		{classErrorf(ErrUnauthenticated, "x"), codes.Unauthenticated},
		{context.Canceled, codes.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{errTest, codes.Internal},
	}
	for _, tt := range tests {
		if got := status.Code(grpcError(tt.err)); got != tt.want {
			t.Errorf("code of %v = %s, want %s", tt.err, got, tt.want)
		}
	}
}

type resolveRequest = internalv1.ResolveDestinationRequest

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func mustJetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func dialWithToken(h *harness, token string) (*grpc.ClientConn, error) {
	return configclient.Dial(h.svc.Addr().String(), configclient.InternalToken(token))
}

func TestGRPCErrorFieldViolation(t *testing.T) {
	err := fmt.Errorf("update bus: %w", invalidf("bus.description", "the description is too long"))
	st := status.Convert(grpcError(err))
	v := violation(t, st)
	if v.GetField() != "bus.description" {
		t.Errorf("field = %q, want bus.description", v.GetField())
	}
	if v.GetDescription() != "the description is too long" {
		t.Errorf("description = %q, want the one given", v.GetDescription())
	}

	plain := status.Convert(grpcError(classErrorf(ErrNotFound, "bus %q not found", "b")))
	if len(plain.Details()) != 0 {
		t.Errorf("NotFound details = %v, want none", plain.Details())
	}
}
