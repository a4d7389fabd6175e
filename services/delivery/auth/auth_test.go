package auth

import (
	"encoding/base64"
	"errors"
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
