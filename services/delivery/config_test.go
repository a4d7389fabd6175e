package delivery

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/config"
)

const testInternalToken = "internal-token-for-tests"

// startConfig runs the real config service on the harness's NATS
// server and returns its public client. The harness's config then
// resolves through config's gRPC Resolver.
func (h *harness) startConfig() v1.ConfigServiceClient {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := config.New(ctx, config.Config{
		NATS:          h.nc,
		Topology:      h.nats.Topology,
		Logger:        testLogger(h.t).With("service", "config"),
		Listen:        "127.0.0.1:0",
		SecretKeys:    [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		InternalToken: testInternalToken,
	})
	if err != nil {
		cancel()
		h.t.Fatalf("config.New() = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			h.t.Errorf("config Run() = %v", err)
		}
	})

	addr := svc.Addr().String()
	public, err := configclient.Dial(addr)
	if err != nil {
		h.t.Fatal(err)
	}
	internal, err := configclient.Dial(addr, configclient.InternalToken(testInternalToken))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		_ = public.Close()
		_ = internal.Close()
	})
	h.realResolver = internalv1.NewResolverClient(internal)
	return v1.NewConfigServiceClient(public)
}

// passwordEndpoint returns 200 to Basic credentials with the accepted
// password and 401 to any other.
type passwordEndpoint struct {
	accepted atomic.Value
	calls    atomic.Int32
}

func newPasswordEndpoint(password string) *passwordEndpoint {
	e := &passwordEndpoint{}
	e.accepted.Store(password)
	return e
}

func (e *passwordEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.calls.Add(1)
	if _, pass, _ := r.BasicAuth(); pass != e.accepted.Load().(string) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func createBasicConnection(t *testing.T, client v1.ConfigServiceClient, url, password string) {
	t.Helper()
	ctx := context.Background()
	_, err := client.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: &v1.Connection{
		Name:          "conn",
		Network:       v1.Network_NETWORK_PRIVATE,
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{Username: "u", Password: password}},
	}})
	if err != nil {
		t.Fatalf("CreateConnection() = %v", err)
	}
	_, err = client.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: &v1.ApiDestination{
			Name: "d", Url: url, Method: http.MethodPost, Connection: "conn",
		}})
	if err != nil {
		t.Fatalf("CreateApiDestination() = %v", err)
	}
}

func updatePassword(t *testing.T, client v1.ConfigServiceClient, password string) {
	t.Helper()
	if err := setPassword(client, password); err != nil {
		t.Fatalf("UpdateConnection() = %v", err)
	}
}

// setPassword updates the password of the connection "conn".
func setPassword(client v1.ConfigServiceClient, password string) error {
	_, err := client.UpdateConnection(context.Background(), &v1.UpdateConnectionRequest{
		Connection: &v1.Connection{
			Name:    "conn",
			Network: v1.Network_NETWORK_PRIVATE,
			Authorization: &v1.Connection_Basic{
				Basic: &v1.BasicAuth{Username: "u", Password: password}},
		}})
	return err
}

// waitConnectionState polls GetConnection until the state is want.
func waitConnectionState(t *testing.T, client v1.ConfigServiceClient,
	want v1.ConnectionState) *v1.Connection {
	t.Helper()
	return waitNamedConnectionState(t, client, "conn", want)
}

// waitNamedConnectionState polls config until the connection name reads
// as want, and returns it.
func waitNamedConnectionState(t *testing.T, client v1.ConfigServiceClient, name string,
	want v1.ConnectionState) *v1.Connection {
	t.Helper()
	var c *v1.Connection
	ok := poll(10*time.Second, func() bool {
		var err error
		c, err = client.GetConnection(context.Background(), &v1.GetConnectionRequest{Name: name})
		return err == nil && c.GetState() == want
	})
	if !ok {
		t.Fatalf("connection state = %v (%q), want %v", c.GetState(), c.GetStateReason(), want)
	}
	return c
}

func TestPasswordUpdateReachesNextDelivery(t *testing.T) {
	h := newHarness(t)
	client := h.startConfig()
	e := newPasswordEndpoint("old-password")
	srv := serve(t, e.ServeHTTP)
	createBasicConnection(t, client, srv.URL, "old-password")
	cfg := h.config()
	cfg.Resolver = h.realResolver
	svc, _ := h.startService(cfg)

	first := newTask("d", "ev-old-password")
	h.publish(first)
	h.waitState(first, v1.DeliveryState_DELIVERY_STATE_DELIVERED)

	e.accepted.Store("new-password")
	updatePassword(t, client, "new-password")
	if !poll(5*time.Second, func() bool { return svc.cache.peek("d") == nil }) {
		t.Fatal("the change notice of the connection did not drop the cached destination")
	}

	next := newTask("d", "ev-new-password")
	h.publish(next)
	rec := h.waitState(next, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if n := len(rec.GetAttempts()); n != 1 {
		t.Errorf("delivery after the update made %d attempts, want 1 with the new password", n)
	}
	if got := e.calls.Load(); got != 2 {
		t.Errorf("endpoint got %d calls, want 2", got)
	}
}

func TestConnectionStateReported(t *testing.T) {
	h := newHarness(t)
	client := h.startConfig()
	e := newPasswordEndpoint("rotated-elsewhere")
	srv := serve(t, e.ServeHTTP)
	createBasicConnection(t, client, srv.URL, "stale-password")
	cfg := h.config()
	cfg.Resolver = h.realResolver
	h.start(cfg)

	rejected := newTask("d", "ev-rejected")
	rejected.RetryPolicy.MaxAttempts = proto.Int32(0)
	h.publish(rejected)
	h.waitState(rejected, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)
	c := waitConnectionState(t, client, v1.ConnectionState_CONNECTION_STATE_DEAUTHORIZED)
	if !strings.Contains(c.GetStateReason(), "401") {
		t.Errorf("state reason = %q, want the 401 named", c.GetStateReason())
	}
	if strings.Contains(c.GetStateReason(), "stale-password") {
		t.Errorf("state reason %q contains the password", c.GetStateReason())
	}
	list, err := client.ListConnections(context.Background(), &v1.ListConnectionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := list.GetConnections()[0].GetState()
	if got != v1.ConnectionState_CONNECTION_STATE_DEAUTHORIZED {
		t.Errorf("ListConnections state = %v, want DEAUTHORIZED", got)
	}

	// The endpoint accepts the stored password again, as after a
	// rollback on its side: the next success authorizes.
	e.accepted.Store("stale-password")
	accepted := newTask("d", "ev-accepted")
	h.publish(accepted)
	h.waitState(accepted, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	waitConnectionState(t, client, v1.ConnectionState_CONNECTION_STATE_AUTHORIZED)

	// Rejected again, then an update resets the state at once.
	e.accepted.Store("rotated-again")
	again := newTask("d", "ev-rejected-again")
	again.RetryPolicy.MaxAttempts = proto.Int32(0)
	h.publish(again)
	h.waitState(again, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)
	waitConnectionState(t, client, v1.ConnectionState_CONNECTION_STATE_DEAUTHORIZED)
	updatePassword(t, client, "rotated-again")
	c, err = client.GetConnection(context.Background(), &v1.GetConnectionRequest{Name: "conn"})
	if err != nil {
		t.Fatal(err)
	}
	if c.GetState() != v1.ConnectionState_CONNECTION_STATE_AUTHORIZED || c.GetStateReason() != "" {
		t.Errorf("state after update = %v (%q), want AUTHORIZED without a reason",
			c.GetState(), c.GetStateReason())
	}
}

func TestConnectionStateOfTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	client := h.startConfig()
	e := &oauthEndpoint{resource: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}}
	e.tokenStatus.Store(http.StatusBadRequest)
	startOAuthDestination(t, h, client, e)

	task := newTask("d", "ev-token-400")
	h.publish(task)
	h.waitState(task, v1.DeliveryState_DELIVERY_STATE_RETRYING)

	got := waitNamedConnectionState(t, client, "oauth", v1.ConnectionState_CONNECTION_STATE_DEAUTHORIZED)
	want := "token request failed: status 400, error invalid_client"
	if !strings.Contains(got.GetStateReason(), want) {
		t.Errorf("state reason = %q, want it to contain %q", got.GetStateReason(), want)
	}
	if strings.Contains(got.GetStateReason(), "very-secret") {
		t.Errorf("state reason %q contains the client secret", got.GetStateReason())
	}
}

func TestOAuthConnectionAuthorizedAfterToken(t *testing.T) {
	h := newHarness(t)
	client := h.startConfig()
	e := &oauthEndpoint{resource: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}}
	created := startOAuthDestination(t, h, client, e)
	if got := created.GetState(); got != v1.ConnectionState_CONNECTION_STATE_AUTHORIZING {
		t.Errorf("state before any token = %v, want AUTHORIZING", got)
	}

	task := newTask("d", "ev-token-ok")
	h.publish(task)
	h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	waitNamedConnectionState(t, client, "oauth", v1.ConnectionState_CONNECTION_STATE_AUTHORIZED)
}

// startOAuthDestination serves e, creates the private OAuth connection
// "oauth" on its token path and the destination "d" on its /hook path,
// starts delivery with the real resolver and returns the connection as
// created.
func startOAuthDestination(t *testing.T, h *harness, client v1.ConfigServiceClient,
	e *oauthEndpoint) *v1.Connection {
	t.Helper()
	srv := serve(t, e.ServeHTTP)
	conn := oauthConnection(srv.URL+"/token", v1.Network_NETWORK_PRIVATE)
	conn.Revision = 0
	ctx := context.Background()
	created, err := client.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: &v1.ApiDestination{Name: "d", Url: srv.URL + "/hook",
			Method: http.MethodPost, Connection: "oauth"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.config()
	cfg.Resolver = h.realResolver
	h.start(cfg)
	return created
}

func TestRejectedPasswordWaitsForBackoff(t *testing.T) {
	h := newHarness(t)
	client := h.startConfig()
	e := newPasswordEndpoint("right-password")
	srv := serve(t, retryAfterHour(e))
	createBasicConnection(t, client, srv.URL, "wrong-password")
	cfg := h.config()
	cfg.Resolver = h.realResolver
	h.start(cfg)

	task := newTask("d", "ev-wrong-password")
	h.publish(task)
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_RETRYING)

	if n := len(rec.GetAttempts()); n != 1 {
		t.Errorf("record has %d attempts, want 1: the password is unchanged in config", n)
	}
	if got := e.calls.Load(); got != 1 {
		t.Errorf("endpoint got %d calls, want 1 before the backoff", got)
	}
}

func TestPasswordUpdatedDuringCallRetriedAtOnce(t *testing.T) {
	h := newHarness(t)
	client := h.startConfig()
	e := newPasswordEndpoint("new-password")
	var updated atomic.Bool
	updateErr := make(chan error, 1)
	srv := serve(t, retryAfterHour(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The password changes in config while the first call runs,
		// after delivery resolved the old one.
		if updated.CompareAndSwap(false, true) {
			updateErr <- setPassword(client, "new-password")
		}
		e.ServeHTTP(w, r)
	})))
	createBasicConnection(t, client, srv.URL, "old-password")
	cfg := h.config()
	cfg.Resolver = h.realResolver
	h.start(cfg)

	task := newTask("d", "ev-password-updated")
	h.publish(task)
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if err := <-updateErr; err != nil {
		t.Fatalf("UpdateConnection() = %v", err)
	}

	attempts := rec.GetAttempts()
	if len(attempts) != 2 {
		t.Fatalf("record has %d attempts, want 2: the rejected one and one at once", len(attempts))
	}
	if got := attempts[0].GetStatusCode(); got != http.StatusUnauthorized {
		t.Errorf("first attempt status = %d, want 401", got)
	}
	if got := attempts[1].GetStatusCode(); got != http.StatusOK {
		t.Errorf("second attempt status = %d, want 200", got)
	}
	if got := e.calls.Load(); got != 2 {
		t.Errorf("endpoint got %d calls, want 2", got)
	}
}
