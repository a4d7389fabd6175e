package delivery

import (
	"context"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// tokenResolver is a Resolver server that demands a bearer token, as
// config's does.
type tokenResolver struct {
	internalv1.UnimplementedResolverServer
	token string
}

func (r tokenResolver) ResolveDestination(ctx context.Context,
	req *internalv1.ResolveDestinationRequest) (*internalv1.ResolvedDestination, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+r.token {
		return nil, status.Error(codes.Unauthenticated, "missing internal token")
	}
	if req.GetName() != "d" {
		return nil, status.Errorf(codes.NotFound, "api destination %q not found", req.GetName())
	}
	return &internalv1.ResolvedDestination{
		ApiDestination: &v1.ApiDestination{Name: "d", Connection: "c"},
		Connection:     &v1.Connection{Name: "c"},
	}, nil
}

func TestResolverOverGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	internalv1.RegisterResolverServer(srv, tokenResolver{token: "tok"})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cc, err := configclient.Dial(lis.Addr().String(), configclient.InternalToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	c := newDestinationCache(internalv1.NewResolverClient(cc), DefaultCacheTTL)

	r, err := c.get(context.Background(), "d")
	if err != nil {
		t.Fatalf("get(d) = %v", err)
	}
	if got := r.GetConnection().GetName(); got != "c" {
		t.Errorf("connection = %q, want c", got)
	}
	if _, err := c.get(context.Background(), "missing"); !errors.Is(err, retry.ErrDestinationNotFound) {
		t.Errorf("get(missing) = %v, want an error wrapping ErrDestinationNotFound", err)
	}
}
