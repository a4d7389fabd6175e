package ingest

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	switchyardv1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// configServer serves GetBus over real gRPC from a fixed set of buses.
type configServer struct {
	switchyardv1.UnimplementedConfigServiceServer
	buses map[string]bool
}

func (s *configServer) GetBus(_ context.Context, in *switchyardv1.GetBusRequest) (*switchyardv1.Bus, error) {
	if !s.buses[in.GetName()] {
		return nil, status.Errorf(codes.NotFound, "bus %q not found", in.GetName())
	}
	return &switchyardv1.Bus{Name: in.GetName()}, nil
}

// startConfigServer returns a client of a gRPC server on a free port.
func startConfigServer(t *testing.T, buses ...string) switchyardv1.ConfigServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	impl := &configServer{buses: make(map[string]bool)}
	for _, b := range buses {
		impl.buses[b] = true
	}
	switchyardv1.RegisterConfigServiceServer(srv, impl)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cc, err := configclient.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return switchyardv1.NewConfigServiceClient(cc)
}

func TestBusLookupOverGRPC(t *testing.T) {
	h := start(t, startConfigServer(t, "orders"))
	body := mustJSON(t, sampleEvent("grpc-1"))

	tests := []struct {
		bus      string
		wantCode int
	}{
		{"orders", http.StatusOK},
		{"missing", http.StatusNotFound},
		{DefaultBus, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.bus, func(t *testing.T) {
			code, resp := h.post(t, tt.bus, contentType(mediaStructured), body)
			if code != tt.wantCode {
				t.Errorf("status = %d, want %d (%+v)", code, tt.wantCode, resp)
			}
		})
	}
}

func TestBusCacheDroppedOnReconnect(t *testing.T) {
	buses := newFakeBuses("orders")
	h := start(t, buses)
	body := mustJSON(t, sampleEvent("reconnect-1"))
	if code, resp := h.post(t, "orders", contentType(mediaStructured), body); code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}

	// A notice published while ingest is disconnected is lost, so the
	// reconnect itself must empty the cache.
	buses.set("orders", false)
	h.server.Restart(t)
	eventually(t, "the connection is back", func() bool {
		return h.nc.Status() == nats.CONNECTED && h.nc.Stats().Reconnects > 0
	})

	code, resp := h.post(t, "orders", contentType(mediaStructured), body)
	if code != http.StatusNotFound {
		t.Errorf("status after reconnect = %d, want 404 (%+v)", code, resp)
	}
}
