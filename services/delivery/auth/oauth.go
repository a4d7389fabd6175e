package auth

import (
	"context"
	"net/http"
	"strconv"

	"github.com/switchyard-dev/switchyard/pkg/oauth"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Signer applies connections' authorization to requests. For OAuth
// client credentials connections it takes the access token from an
// oauth.Source, which caches it in Redis or in memory and lets one
// token request serve every replica. It is safe for concurrent use.
type Signer struct {
	tokens *oauth.Source
}

// NewSigner returns a Signer that gets OAuth access tokens from tokens.
func NewSigner(tokens *oauth.Source) *Signer {
	return &Signer{tokens: tokens}
}

// Sign sets the authorization of c on req. For an OAuth connection it
// returns the access token it set, so that the caller can Invalidate it
// when the endpoint rejects it, and remove it from what it stores. The
// token request goes through client, which must enforce c's network.
//
// Errors of an OAuth connection are oauth.ErrInvalidConfig for settings
// that cannot make a token request, *oauth.TokenError when the token
// endpoint gave no token, and the context's error.
func (s *Signer) Sign(ctx context.Context, req *http.Request, c *v1.Connection,
	client *http.Client) (string, error) {
	cc := c.GetOauthClientCredentials()
	if cc == nil {
		return "", Apply(req.Header, c)
	}
	ctx = oauth.WithHTTPClient(ctx, client)
	token, err := s.tokens.Token(ctx, TokenKey(c), cc)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return token, nil
}

// Invalidate drops token, which an endpoint rejected with 401 or 407,
// from the cache of c, so the next Sign requests a new one. A newer
// token that another delivery fetched meanwhile stays.
func (s *Signer) Invalidate(ctx context.Context, c *v1.Connection, token string) {
	if c.GetOauthClientCredentials() == nil || token == "" {
		return
	}
	s.tokens.Invalidate(ctx, TokenKey(c), token)
}

// TokenReplaced gets the token that the next Sign of c will send, after
// Invalidate dropped rejected, and reports whether it differs from
// rejected. A token endpoint may issue the same token again until it
// expires. It returns false for a connection without OAuth. The token
// request goes through client, as in Sign.
func (s *Signer) TokenReplaced(ctx context.Context, c *v1.Connection, rejected string,
	client *http.Client) (bool, error) {
	cc := c.GetOauthClientCredentials()
	if cc == nil || rejected == "" {
		return false, nil
	}
	token, err := s.tokens.Token(oauth.WithHTTPClient(ctx, client), TokenKey(c), cc)
	if err != nil {
		return false, err
	}
	return token != rejected, nil
}

// TokenKey returns the cache key of c's access token: its name and
// revision, so that a token is never used with credentials other than
// the ones it was issued for.
func TokenKey(c *v1.Connection) string {
	return c.GetName() + "@" + strconv.FormatInt(c.GetRevision(), 10)
}
