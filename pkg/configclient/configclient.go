// Package configclient dials the config service's gRPC API, for the
// services and the CLI alike.
package configclient

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial returns a client connection to the config service at addr. The
// connection is made lazily, so Dial succeeds while the service starts.
//
// TODO: transport security; the API is plaintext and meant for loopback
// or a private network until TLS options exist.
func Dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("config service at %q: %w", addr, err)
	}
	return cc, nil
}

// InternalToken returns call credentials that present the internal
// token, which the Resolver service demands.
func InternalToken(token string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(bearer(token))
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false because the token guards against
// other local callers, not against someone on the wire.
func (bearer) RequireTransportSecurity() bool { return false }
