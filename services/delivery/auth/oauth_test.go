package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/switchyard-dev/switchyard/pkg/oauth"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// tokenServer issues tok-1, tok-2, ... and counts the token requests.
func tokenServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var issued atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	t.Cleanup(srv.Close)
	return srv, &issued
}

func newTestSigner(t *testing.T) *Signer {
	t.Helper()
	src, err := oauth.New(oauth.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return NewSigner(src)
}

func oauthConnection(tokenURL string, revision int64) *v1.Connection {
	return &v1.Connection{
		Name:     "idp",
		Revision: revision,
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl: tokenURL, ClientId: "id", ClientSecret: "client-secret",
			},
		},
	}
}

func sign(t *testing.T, s *Signer, c *v1.Connection) (string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://example.invalid/", nil)
	token, err := s.Sign(context.Background(), req, c, http.DefaultClient)
	if err != nil {
		t.Fatalf("Sign() = %v", err)
	}
	return token, req.Header.Get("Authorization")
}

func TestSignerOAuth(t *testing.T) {
	srv, issued := tokenServer(t)
	s := newTestSigner(t)
	c := oauthConnection(srv.URL, 1)

	token, header := sign(t, s, c)
	if token != "tok-1" || header != "Bearer tok-1" {
		t.Errorf("Sign() = %q with Authorization %q, want tok-1 and Bearer tok-1", token, header)
	}
	if token, _ := sign(t, s, c); token != "tok-1" {
		t.Errorf("second Sign() = %q, want the cached tok-1", token)
	}

	s.Invalidate(context.Background(), c, "tok-1")
	if token, _ := sign(t, s, c); token != "tok-2" {
		t.Errorf("Sign() after Invalidate = %q, want tok-2", token)
	}

	if token, _ := sign(t, s, oauthConnection(srv.URL, 2)); token != "tok-3" {
		t.Errorf("Sign() of a new revision = %q, want a new token tok-3", token)
	}
	if got := issued.Load(); got != 3 {
		t.Errorf("token endpoint issued %d tokens, want 3", got)
	}
}

func TestSignerBasic(t *testing.T) {
	s := newTestSigner(t)
	c := &v1.Connection{Authorization: &v1.Connection_Basic{
		Basic: &v1.BasicAuth{Username: "u", Password: "p"}}}
	token, header := sign(t, s, c)
	if token != "" {
		t.Errorf("Sign(basic) token = %q, want none", token)
	}
	if header != "Basic dTpw" {
		t.Errorf("Authorization = %q, want Basic dTpw", header)
	}
}

func TestSignerTokenReplaced(t *testing.T) {
	srv, issued := tokenServer(t)
	s := newTestSigner(t)
	c := oauthConnection(srv.URL, 1)
	token, _ := sign(t, s, c)

	s.Invalidate(context.Background(), c, token)
	replaced, err := s.TokenReplaced(context.Background(), c, token, http.DefaultClient)
	if err != nil {
		t.Fatalf("TokenReplaced() = %v", err)
	}
	if !replaced {
		t.Error("TokenReplaced() after tok-1 was rejected = false, want true: tok-2 was issued")
	}
	if token, _ := sign(t, s, c); token != "tok-2" {
		t.Errorf("Sign() after TokenReplaced = %q, want tok-2", token)
	}
	if got := issued.Load(); got != 2 {
		t.Errorf("token endpoint issued %d tokens, want 2: Sign reuses the replacement", got)
	}
}

func TestSignerTokenReplacedSameToken(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"same-token","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	s := newTestSigner(t)
	c := oauthConnection(srv.URL, 1)
	token, _ := sign(t, s, c)

	s.Invalidate(context.Background(), c, token)
	replaced, err := s.TokenReplaced(context.Background(), c, token, http.DefaultClient)
	if err != nil {
		t.Fatalf("TokenReplaced() = %v", err)
	}
	if replaced {
		t.Error("TokenReplaced() = true, want false: the token endpoint issued the rejected token again")
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("token endpoint got %d requests, want 2", got)
	}
}

func TestSignerTokenReplacedBasic(t *testing.T) {
	s := newTestSigner(t)
	c := &v1.Connection{Authorization: &v1.Connection_Basic{
		Basic: &v1.BasicAuth{Username: "u", Password: "p"}}}
	replaced, err := s.TokenReplaced(context.Background(), c, "", http.DefaultClient)
	if err != nil {
		t.Errorf("TokenReplaced(basic) = %v, want no error", err)
	}
	if replaced {
		t.Error("TokenReplaced(basic) = true, want false: Basic credentials have no token to replace")
	}
}
