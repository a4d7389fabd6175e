// Package auth applies a connection's authorization to an HTTP request
// and lists the connection's secret values, so callers can remove them
// from what they store.
package auth

import (
	"encoding/base64"
	"errors"
	"net/http"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// ErrOAuthNeedsSigner is returned by Apply for connections that use
// the OAuth client credentials grant, which needs a Signer.
var ErrOAuthNeedsSigner = errors.New("oauth_client_credentials needs a token: use a Signer")

// Apply sets the Basic or API key authorization of c on h. A
// connection without authorization leaves h unchanged.
func Apply(h http.Header, c *v1.Connection) error {
	switch a := c.GetAuthorization().(type) {
	case *v1.Connection_Basic:
		h.Set("Authorization", "Basic "+basicToken(a.Basic))
	case *v1.Connection_ApiKey:
		h.Set(a.ApiKey.GetHeaderName(), a.ApiKey.GetValue())
	case *v1.Connection_OauthClientCredentials:
		return ErrOAuthNeedsSigner
	}
	return nil
}

func basicToken(b *v1.BasicAuth) string {
	return base64.StdEncoding.EncodeToString([]byte(b.GetUsername() + ":" + b.GetPassword()))
}

// Secrets returns the secret values of c in the forms they may appear
// in a response: passwords, the Basic token, API key values, client
// secrets and secret invocation parameters. Empty values are left out.
func Secrets(c *v1.Connection) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	switch a := c.GetAuthorization().(type) {
	case *v1.Connection_Basic:
		add(a.Basic.GetPassword())
		if a.Basic.GetPassword() != "" {
			add(basicToken(a.Basic))
		}
	case *v1.Connection_ApiKey:
		add(a.ApiKey.GetValue())
	case *v1.Connection_OauthClientCredentials:
		add(a.OauthClientCredentials.GetClientSecret())
		for _, p := range a.OauthClientCredentials.GetTokenParameters() {
			if p.GetSecret() {
				add(p.GetValue())
			}
		}
	}
	for _, p := range c.GetInvocationParameters() {
		if p.GetSecret() {
			add(p.GetValue())
		}
	}
	return out
}
