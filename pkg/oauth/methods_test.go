package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// TestTokenGET runs against the real go-oauth2 server, which accepts
// GET token requests when its AllowGetAccessRequest option is on.
func TestTokenGET(t *testing.T) {
	for _, auth := range []v1.ClientAuth{authHeader, authBody} {
		t.Run(auth.String(), func(t *testing.T) {
			as := startAuthServer(t, time.Hour, auth == authBody)
			s, _ := newSource(t, Config{})
			c := creds(as.URL, "GET", auth,
				param(header, "X-Tenant", "tenant-1", false),
				param(query, "resource", "https://api.example", false),
				param(body, "audience", "jenkins", true),
			)

			for range 3 {
				if _, err := s.Token(context.Background(), "conn@1", c); err != nil {
					t.Fatalf("Token: %v", err)
				}
			}

			if n := as.requests(); n != 1 {
				t.Errorf("server saw %d token requests, want 1", n)
			}
			last := as.lastRequest()
			if last.method != http.MethodGet {
				t.Errorf("method = %s, want GET", last.method)
			}
			// A GET has no body, so body parameters go in the query.
			checks := []struct{ what, got, want string }{
				{"header X-Tenant", last.header.Get("X-Tenant"), "tenant-1"},
				{"query resource", last.query.Get("resource"), "https://api.example"},
				{"query audience", last.query.Get("audience"), "jenkins"},
				{"query grant_type", last.query.Get("grant_type"), "client_credentials"},
			}
			if auth == authBody {
				checks = append(checks,
					struct{ what, got, want string }{"query client_id", last.query.Get("client_id"), testClientID},
					struct{ what, got, want string }{"Authorization", last.header.Get("Authorization"), ""},
				)
			} else {
				checks = append(checks,
					struct{ what, got, want string }{"query client_secret", last.query.Get("client_secret"), ""},
				)
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}

// TestTokenPUT uses a handler of its own, because go-oauth2 rejects
// every token request other than GET and POST with invalid_request. The
// handler checks the whole request and rejects anything else with 400,
// so a wrong method, header or field fails the test through Token.
func TestTokenPUT(t *testing.T) {
	tests := []struct {
		name     string
		auth     v1.ClientAuth
		response string
		ctype    string
	}{
		{"basic header, JSON", authHeader,
			`{"access_token":"put-token","token_type":"Bearer","expires_in":"3600"}`, "application/json"},
		{"body fields, form response", authBody,
			"access_token=put-token&token_type=bearer&expires_in=3600", "application/x-www-form-urlencoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int64
			var problem atomic.Value
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if msg := checkPUT(r, tt.auth); msg != "" {
					problem.Store(msg)
					http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", tt.ctype)
				fmt.Fprint(w, tt.response)
			}))
			t.Cleanup(ts.Close)
			s, _ := newSource(t, Config{})
			c := creds(ts.URL+"/token?tenant=7", "PUT", tt.auth,
				param(header, "X-Tenant", "tenant-1", false),
				param(query, "resource", "https://api.example", false),
				param(body, "audience", "jenkins", true),
			)

			got, err := s.Token(context.Background(), "conn@1", c)
			if msg, _ := problem.Load().(string); msg != "" {
				t.Fatalf("handler rejected the request: %s", msg)
			}
			if err != nil || got != "put-token" {
				t.Fatalf("Token = %q, %v, want put-token, nil", got, err)
			}
			s.Token(context.Background(), "conn@1", c)
			if n := requests.Load(); n != 1 {
				t.Errorf("handler saw %d token requests, want 1", n)
			}
		})
	}
}

// checkPUT returns what is wrong with a PUT token request, or "".
func checkPUT(r *http.Request, auth v1.ClientAuth) string {
	if r.Method != http.MethodPut {
		return "method " + r.Method
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		return "content type " + ct
	}
	if err := r.ParseForm(); err != nil {
		return "form: " + err.Error()
	}
	want := url.Values{"grant_type": {"client_credentials"}, "audience": {"jenkins"}}
	user, pass, hasBasic := r.BasicAuth()
	if auth == authBody {
		want.Set("client_id", testClientID)
		want.Set("client_secret", testSecret)
		if hasBasic {
			return "Basic header with body client authentication"
		}
	} else if !hasBasic || user != testClientID || pass != testSecret {
		return "missing or wrong Basic header"
	}
	if got := r.PostForm.Encode(); got != want.Encode() {
		return "body " + got
	}
	if got := r.URL.Query().Encode(); got != "resource=https%3A%2F%2Fapi.example&tenant=7" {
		return "query " + got
	}
	if r.Header.Get("X-Tenant") != "tenant-1" {
		return "header X-Tenant " + r.Header.Get("X-Tenant")
	}
	return ""
}
