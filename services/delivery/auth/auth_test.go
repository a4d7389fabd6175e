package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name   string
		conn   *v1.Connection
		header string
		want   string
	}{
		{"basic", &v1.Connection{Authorization: &v1.Connection_Basic{
			Basic: &v1.BasicAuth{Username: "u", Password: "p:w"}}},
			"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w"))},
		{"api key", &v1.Connection{Authorization: &v1.Connection_ApiKey{
			ApiKey: &v1.ApiKeyAuth{HeaderName: "X-Api-Key", Value: "k"}}},
			"X-Api-Key", "k"},
		{"none", &v1.Connection{}, "Authorization", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if err := Apply(h, tt.conn); err != nil {
				t.Fatal(err)
			}
			if got := h.Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestApplyOAuthNeedsSigner(t *testing.T) {
	c := &v1.Connection{Authorization: &v1.Connection_OauthClientCredentials{
		OauthClientCredentials: &v1.OAuthClientCredentials{}}}
	if err := Apply(http.Header{}, c); !errors.Is(err, ErrOAuthNeedsSigner) {
		t.Errorf("Apply(oauth) = %v, want ErrOAuthNeedsSigner", err)
	}
}

func TestSecrets(t *testing.T) {
	c := &v1.Connection{
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{Username: "u", Password: "pw"}},
		InvocationParameters: []*v1.Parameter{
			{Key: "a", Value: "public"},
			{Key: "b", Value: "hidden", Secret: true},
		},
	}
	got := Secrets(c)
	want := []string{"pw", base64.StdEncoding.EncodeToString([]byte("u:pw")), "hidden"}
	if !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
}

func TestTokenRequest(t *testing.T) {
	s := &Signer{UserAgent: "ua"}
	params := []*v1.Parameter{
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_BODY, Key: "audience", Value: "api"},
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-Tenant", Value: "t1"},
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY, Key: "v", Value: "2"},
	}

	t.Run("GET with body client auth", func(t *testing.T) {
		req, err := s.tokenRequest(context.Background(), &v1.OAuthClientCredentials{
			TokenUrl: "https://idp/token", TokenMethod: "get", ClientId: "id",
			ClientSecret: "sec", ClientAuth: v1.ClientAuth_CLIENT_AUTH_BODY, TokenParameters: params,
		})
		if err != nil {
			t.Fatal(err)
		}
		q := req.URL.Query()
		for k, want := range map[string]string{
			"grant_type": "client_credentials", "client_id": "id", "client_secret": "sec",
			"audience": "api", "v": "2",
		} {
			if got := q.Get(k); got != want {
				t.Errorf("query %s = %q, want %q", k, got, want)
			}
		}
		if req.Method != http.MethodGet || req.Body != nil {
			t.Errorf("method, body = %s, %v, want GET without body", req.Method, req.Body)
		}
		if got := req.Header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none with body client auth", got)
		}
		if got := req.Header.Get("X-Tenant"); got != "t1" {
			t.Errorf("X-Tenant = %q, want t1", got)
		}
	})

	t.Run("POST with header client auth", func(t *testing.T) {
		req, err := s.tokenRequest(context.Background(), &v1.OAuthClientCredentials{
			TokenUrl: "https://idp/token", ClientId: "my id", ClientSecret: "s&c",
			TokenParameters: params,
		})
		if err != nil {
			t.Fatal(err)
		}
		user, pass, _ := req.BasicAuth()
		if user != "my+id" || pass != "s%26c" {
			t.Errorf("Basic credentials = %q, %q, want form-encoded my+id, s%%26c", user, pass)
		}
		body, _ := io.ReadAll(req.Body)
		if got, want := string(body), "audience=api&grant_type=client_credentials"; got != want {
			t.Errorf("body = %q, want %q", got, want)
		}
	})

	t.Run("invalid URL", func(t *testing.T) {
		_, err := s.tokenRequest(context.Background(), &v1.OAuthClientCredentials{TokenUrl: "://"})
		if !errors.Is(err, ErrInvalidTokenRequest) {
			t.Errorf("tokenRequest(://) = %v, want ErrInvalidTokenRequest", err)
		}
	})
}
