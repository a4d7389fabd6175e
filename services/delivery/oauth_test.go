package delivery

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// oauthEndpoint responds to /token with tokenStatus when that is set, and
// else with a token: fixedToken when that is set, else tok-1, tok-2, ...
// It passes other paths to resource.
type oauthEndpoint struct {
	issued      atomic.Int32
	tokenStatus atomic.Int32
	fixedToken  string
	resource    http.HandlerFunc
}

func (e *oauthEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		e.resource(w, r)
		return
	}
	if code := int(e.tokenStatus.Load()); code != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"echo very-secret"}`)
		return
	}
	n := e.issued.Add(1)
	token := fmt.Sprintf("tok-%d", n)
	if e.fixedToken != "" {
		token = e.fixedToken
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, token)
}

func oauthConnection(tokenURL string, network v1.Network) *v1.Connection {
	return &v1.Connection{
		Name:     "oauth",
		Network:  network,
		Revision: 3,
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl: tokenURL, ClientId: "id", ClientSecret: "very-secret",
			},
		},
	}
}

func TestOAuthRejectedTokenReplaced(t *testing.T) {
	h := newHarness(t)
	e := &oauthEndpoint{resource: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}}
	srv := serve(t, retryAfterHour(e))
	h.resolver.set(destination("d", srv.URL+"/hook"),
		oauthConnection(srv.URL+"/token", v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-token-replaced")
	h.publish(task)
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)

	attempts := rec.GetAttempts()
	if len(attempts) != 2 {
		t.Fatalf("record has %d attempts, want 2: %v", len(attempts), attempts)
	}
	if got := attempts[0].GetStatusCode(); got != http.StatusUnauthorized {
		t.Errorf("first attempt status = %d, want 401", got)
	}
	if got := attempts[1].GetStatusCode(); got != http.StatusOK {
		t.Errorf("second attempt status = %d, want 200", got)
	}
	if got := e.issued.Load(); got != 2 {
		t.Errorf("token endpoint issued %d tokens, want 2: the rejected one and its replacement", got)
	}
}

func TestOAuthSameTokenWaitsForBackoff(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	e := &oauthEndpoint{fixedToken: "long-lived", resource: func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	}}
	srv := serve(t, retryAfterHour(e))
	h.resolver.set(destination("d", srv.URL+"/hook"),
		oauthConnection(srv.URL+"/token", v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-same-token")
	h.publish(task)
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_RETRYING)

	if n := len(rec.GetAttempts()); n != 1 {
		t.Errorf("record has %d attempts, want 1: the token endpoint issued the rejected token again",
			n)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("endpoint got %d calls, want 1 before the backoff", got)
	}
	if got := e.issued.Load(); got != 2 {
		t.Errorf("token endpoint got %d requests, want 2: the first token and its refresh", got)
	}
}

func TestOAuthTokenEndpointFailing(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"unavailable", http.StatusServiceUnavailable},
		{"client rejected", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var calls atomic.Int32
			e := &oauthEndpoint{resource: func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(http.StatusOK)
			}}
			e.tokenStatus.Store(int32(tt.status))
			srv := serve(t, e.ServeHTTP)
			h.resolver.set(destination("d", srv.URL+"/hook"),
				oauthConnection(srv.URL+"/token", v1.Network_NETWORK_PRIVATE))
			h.start(h.config())

			task := newTask("d", "ev-token-failing")
			task.RetryPolicy.MaxAttempts = proto.Int32(1) // one retry
			h.publish(task)
			rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)

			if n := len(rec.GetAttempts()); n != 2 {
				t.Errorf("record has %d attempts, want 2: a token failure is retried", n)
			}
			want := fmt.Sprintf("token request failed: status %d", tt.status)
			for i, a := range rec.GetAttempts() {
				if !strings.Contains(a.GetError(), want) {
					t.Errorf("attempt %d error = %q, want it to contain %q", i+1, a.GetError(), want)
				}
				if strings.Contains(a.GetError(), "very-secret") {
					t.Errorf("attempt %d error %q contains the client secret", i+1, a.GetError())
				}
			}
			dl := h.deadLetter()
			if got := dl.GetErrorCode(); got != retry.CodeRetriesExhausted {
				t.Errorf("dead letter code = %q, want %q", got, retry.CodeRetriesExhausted)
			}
			if !strings.Contains(dl.GetErrorMessage(), retry.CodeAuthFailed) {
				t.Errorf("dead letter message = %q, want %s named", dl.GetErrorMessage(), retry.CodeAuthFailed)
			}
			if got := calls.Load(); got != 0 {
				t.Errorf("endpoint got %d calls without a token, want 0", got)
			}
		})
	}
}

func TestOAuthTokenRequestGuarded(t *testing.T) {
	h := newHarness(t)
	e := &oauthEndpoint{resource: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}}
	srv := serve(t, e.ServeHTTP)
	// The destination URL does not matter: the token request comes
	// first, and a public connection must not reach 127.0.0.1.
	h.resolver.set(destination("d", srv.URL+"/hook"),
		oauthConnection(srv.URL+"/token", v1.Network_NETWORK_PUBLIC))
	h.start(h.config())

	task := newTask("d", "ev-token-guarded")
	h.publish(task)
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)

	if got := rec.GetErrorCode(); got != retry.CodeNetworkRefused {
		t.Errorf("error code = %q, want %q", got, retry.CodeNetworkRefused)
	}
	for _, want := range []string{"127.0.0.1", "public connection", "--network private"} {
		if !strings.Contains(rec.GetErrorMessage(), want) {
			t.Errorf("error message = %q, want it to name %q", rec.GetErrorMessage(), want)
		}
	}
	if n := len(rec.GetAttempts()); n != 1 {
		t.Errorf("record has %d attempts, want 1: a rejected address is not retried", n)
	}
	if got := e.issued.Load(); got != 0 {
		t.Errorf("token endpoint issued %d tokens, want 0", got)
	}
}
