package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// fakeConfig is the CLI's peer in tests: a config service that records
// each request, answers Get and List from the objects a test stores, and
// checks revisions on Update as the real service does.
type fakeConfig struct {
	v1.UnimplementedConfigServiceServer

	mu          sync.Mutex
	requests    []proto.Message
	err         error // when set, every call fails with it
	bus         *v1.Bus
	connection  *v1.Connection
	destination *v1.ApiDestination
	rule        *v1.Rule
	deliveries  []*v1.GetDeliveriesResponse // answered in turn; the last repeats

	// writeAfterGet plays another writer: GetConnection bumps the stored
	// revision after answering.
	writeAfterGet bool
}

// startConfig serves f on a free loopback port and returns its address.
func startConfig(t *testing.T, f *fakeConfig) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	v1.RegisterConfigServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func (f *fakeConfig) record(req proto.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(req))
	return f.err
}

// last returns the last request, which must be of type T.
func last[T proto.Message](t *testing.T, f *fakeConfig) T {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("the config service got no request")
	}
	req, ok := f.requests[len(f.requests)-1].(T)
	if !ok {
		t.Fatalf("last request is %T, want %T", f.requests[len(f.requests)-1], req)
	}
	return req
}

func (f *fakeConfig) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }

func notFound(kind string) error {
	return status.Errorf(codes.NotFound, "%s not found", kind)
}

func checkRevision(got, want int64) error {
	if got != want {
		return status.Errorf(codes.Aborted, "revision %d is stale; the stored one is %d", got, want)
	}
	return nil
}

func (f *fakeConfig) CreateBus(_ context.Context, req *v1.CreateBusRequest) (*v1.Bus, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	b := clone(req.GetBus())
	b.Revision = 1
	return b, nil
}

func (f *fakeConfig) GetBus(_ context.Context, req *v1.GetBusRequest) (*v1.Bus, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	if f.bus == nil || f.bus.GetName() != req.GetName() {
		return nil, notFound("bus " + req.GetName())
	}
	return clone(f.bus), nil
}

func (f *fakeConfig) ListBuses(_ context.Context, req *v1.ListBusesRequest) (*v1.ListBusesResponse, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	return &v1.ListBusesResponse{Buses: []*v1.Bus{clone(f.bus)}}, nil
}

func (f *fakeConfig) UpdateBus(_ context.Context, req *v1.UpdateBusRequest) (*v1.Bus, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	if err := checkRevision(req.GetBus().GetRevision(), f.bus.GetRevision()); err != nil {
		return nil, err
	}
	b := clone(req.GetBus())
	b.Revision++
	return b, nil
}

func (f *fakeConfig) DeleteBus(_ context.Context, req *v1.DeleteBusRequest) (*v1.DeleteResponse, error) {
	return &v1.DeleteResponse{}, f.record(req)
}

// CreateConnection answers with the secrets it got still in place, as a
// faulty server might, so tests see that the CLI never prints them.
func (f *fakeConfig) CreateConnection(_ context.Context,
	req *v1.CreateConnectionRequest) (*v1.Connection, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	c := clone(req.GetConnection())
	c.Revision = 1
	c.State = v1.ConnectionState_CONNECTION_STATE_AUTHORIZED
	if b := c.GetBasic(); b != nil {
		b.PasswordSet = b.Password != ""
	}
	return c, nil
}

func (f *fakeConfig) GetConnection(_ context.Context,
	req *v1.GetConnectionRequest) (*v1.Connection, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	if f.connection == nil || f.connection.GetName() != req.GetName() {
		return nil, notFound("connection " + req.GetName())
	}
	c := clone(f.connection)
	if f.writeAfterGet {
		f.connection.Revision++
	}
	return c, nil
}

func (f *fakeConfig) ListConnections(_ context.Context,
	req *v1.ListConnectionsRequest) (*v1.ListConnectionsResponse, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	return &v1.ListConnectionsResponse{Connections: []*v1.Connection{clone(f.connection)}}, nil
}

func (f *fakeConfig) UpdateConnection(_ context.Context,
	req *v1.UpdateConnectionRequest) (*v1.Connection, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	stored := f.connection.GetRevision()
	if err := checkRevision(req.GetConnection().GetRevision(), stored); err != nil {
		return nil, err
	}
	c := clone(req.GetConnection())
	c.Revision++
	return c, nil
}

func (f *fakeConfig) DeleteConnection(_ context.Context,
	req *v1.DeleteConnectionRequest) (*v1.DeleteResponse, error) {
	return &v1.DeleteResponse{}, f.record(req)
}

func (f *fakeConfig) CreateApiDestination(_ context.Context,
	req *v1.CreateApiDestinationRequest) (*v1.ApiDestination, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	d := clone(req.GetApiDestination())
	d.Revision = 1
	return d, nil
}

func (f *fakeConfig) GetApiDestination(_ context.Context,
	req *v1.GetApiDestinationRequest) (*v1.ApiDestination, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	if f.destination == nil || f.destination.GetName() != req.GetName() {
		return nil, notFound("destination " + req.GetName())
	}
	return clone(f.destination), nil
}

func (f *fakeConfig) UpdateApiDestination(_ context.Context,
	req *v1.UpdateApiDestinationRequest) (*v1.ApiDestination, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	stored := f.destination.GetRevision()
	if err := checkRevision(req.GetApiDestination().GetRevision(), stored); err != nil {
		return nil, err
	}
	return clone(req.GetApiDestination()), nil
}

func (f *fakeConfig) CreateRule(_ context.Context, req *v1.CreateRuleRequest) (*v1.Rule, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	r := clone(req.GetRule())
	r.Revision = 1
	return r, nil
}

func (f *fakeConfig) GetRule(_ context.Context, req *v1.GetRuleRequest) (*v1.Rule, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	if f.rule == nil || f.rule.GetName() != req.GetName() || f.rule.GetBus() != req.GetBus() {
		return nil, notFound("rule " + req.GetBus() + "/" + req.GetName())
	}
	return clone(f.rule), nil
}

func (f *fakeConfig) ListRules(_ context.Context, req *v1.ListRulesRequest) (*v1.ListRulesResponse, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	return &v1.ListRulesResponse{Rules: []*v1.Rule{clone(f.rule)}}, nil
}

func (f *fakeConfig) UpdateRule(_ context.Context, req *v1.UpdateRuleRequest) (*v1.Rule, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	if err := checkRevision(req.GetRule().GetRevision(), f.rule.GetRevision()); err != nil {
		return nil, err
	}
	return clone(req.GetRule()), nil
}

func (f *fakeConfig) DeleteRule(_ context.Context, req *v1.DeleteRuleRequest) (*v1.DeleteResponse, error) {
	return &v1.DeleteResponse{}, f.record(req)
}

func (f *fakeConfig) GetDeliveries(_ context.Context,
	req *v1.GetDeliveriesRequest) (*v1.GetDeliveriesResponse, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deliveries) == 0 {
		return &v1.GetDeliveriesResponse{}, nil
	}
	resp := f.deliveries[0]
	if len(f.deliveries) > 1 {
		f.deliveries = f.deliveries[1:]
	}
	return clone(resp), nil
}

// result is what one run of the CLI printed and its exit status.
type result struct {
	stdout string
	stderr string
	code   int
}

// cli runs switchyard commands in-process against test servers.
type cli struct {
	t      *testing.T
	server string            // config gRPC address
	ingest string            // ingest base URL
	env    map[string]string // environment beyond the two addresses
	stdin  string
}

func (c cli) run(args ...string) result {
	c.t.Helper()
	env := map[string]string{
		"SWITCHYARD_SERVER":     c.server,
		"SWITCHYARD_INGEST_URL": c.ingest,
	}
	for k, v := range c.env {
		env[k] = v
	}

	var stdout, stderr strings.Builder
	s := streams{
		in:     strings.NewReader(c.stdin),
		out:    &stdout,
		err:    &stderr,
		getenv: func(name string) string { return env[name] },
	}
	code := run(c.t.Context(), args, s)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// wantCode fails the test when r did not exit with code, showing output.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status = %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

func newCLI(t *testing.T, f *fakeConfig) cli {
	return cli{t: t, server: startConfig(t, f), ingest: "http://127.0.0.1:1"}
}
