package config

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc/metadata"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// resolverAPI serves switchyard.internal.v1.Resolver, which returns
// decrypted credentials to callers that present the internal token.
type resolverAPI struct {
	internalv1.UnimplementedResolverServer
	s *Service
}

func (a *resolverAPI) ResolveDestination(
	ctx context.Context, req *internalv1.ResolveDestinationRequest,
) (*internalv1.ResolvedDestination, error) {
	if err := a.s.authorize(ctx); err != nil {
		return nil, err
	}
	return a.s.resolveDestination(ctx, req.GetName())
}

// authorize checks the "authorization: Bearer <token>" metadata against
// the internal token. Both sides are hashed first, so the comparison
// takes the same time whatever the presented token's length.
func (s *Service) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	switch len(values) {
	case 0:
		return classErrorf(ErrUnauthenticated,
			"missing internal token; send \"authorization: Bearer <token>\"")
	case 1:
	default:
		return classErrorf(ErrUnauthenticated,
			"%d authorization values; send one \"authorization: Bearer <token>\"", len(values))
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return classErrorf(ErrUnauthenticated, "authorization is not a Bearer token")
	}
	presented := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(presented[:], s.tokenHash[:]) != 1 {
		return classErrorf(ErrUnauthenticated, "wrong internal token")
	}
	return nil
}

// resolveDestination returns an API destination and its connection with
// the connection's secrets decrypted.
func (s *Service) resolveDestination(
	ctx context.Context, name string,
) (*internalv1.ResolvedDestination, error) {
	if err := checkName("name", "the destination name", name); err != nil {
		return nil, err
	}
	d, err := s.destinations.get(ctx, name, destinationLabel(name))
	if err != nil {
		return nil, err
	}
	c, err := s.connections.get(ctx, d.GetConnection(), connectionLabel(d.GetConnection()))
	if err != nil {
		return nil, err
	}
	if err := s.openSecrets(c); err != nil {
		return nil, err
	}
	setSecretFlags(c)
	return &internalv1.ResolvedDestination{ApiDestination: d, Connection: c}, nil
}

// setSecretFlags sets the *_set flags of a connection whose secrets are
// present.
func setSecretFlags(c *v1.Connection) {
	if b := c.GetBasic(); b != nil {
		b.PasswordSet = b.GetPassword() != ""
	}
	if k := c.GetApiKey(); k != nil {
		k.ValueSet = k.GetValue() != ""
	}
	if o := c.GetOauthClientCredentials(); o != nil {
		o.ClientSecretSet = o.GetClientSecret() != ""
	}
}
