package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const (
	header = v1.ParameterLocation_PARAMETER_LOCATION_HEADER
	query  = v1.ParameterLocation_PARAMETER_LOCATION_QUERY
	body   = v1.ParameterLocation_PARAMETER_LOCATION_BODY

	authHeader = v1.ClientAuth_CLIENT_AUTH_HEADER
	authBody   = v1.ClientAuth_CLIENT_AUTH_BODY
)

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a Logger succeeded, want an error")
	}
	_, err := newSourceErr(Config{Redis: redistest.Unreachable(t), EncryptionKey: []byte("short")})
	if err == nil {
		t.Error("New with Redis and a 5-byte key succeeded, want an error")
	}
}

func newSourceErr(cfg Config) (*Source, error) {
	cfg.Logger = slogDiscard()
	return New(cfg)
}

func TestTokenPOSTCached(t *testing.T) {
	tests := []struct {
		name string
		auth v1.ClientAuth
	}{
		{"basic header", authHeader},
		{"unspecified means header", v1.ClientAuth_CLIENT_AUTH_UNSPECIFIED},
		{"body fields", authBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := startAuthServer(t, time.Hour, tt.auth == authBody)
			s, _ := newSource(t, Config{})
			ctx := context.Background()
			c := creds(as.URL, "POST", tt.auth)

			first, err := s.Token(ctx, "conn@1", c)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if first == "" {
				t.Fatal("Token returned an empty token")
			}
			for range 10 {
				got, err := s.Token(ctx, "conn@1", c)
				if err != nil || got != first {
					t.Fatalf("cached Token = %q, %v, want %q, nil", got, err, first)
				}
			}

			if n := as.requests(); n != 1 {
				t.Errorf("server saw %d token requests for 11 Token calls, want 1", n)
			}
			last := as.lastRequest()
			if last.method != http.MethodPost {
				t.Errorf("method = %s, want POST", last.method)
			}
			_, _, hasBasic := (&http.Request{Header: last.header}).BasicAuth()
			if wantBasic := tt.auth != authBody; hasBasic != wantBasic {
				t.Errorf("Basic header present = %v, want %v", hasBasic, wantBasic)
			}
			if got, want := last.form.Get("client_id") != "", tt.auth == authBody; got != want {
				t.Errorf("client_id in body = %v, want %v", got, want)
			}
		})
	}
}

func TestTokenConcurrentCallsShareRequest(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	s, _ := newSource(t, Config{})
	c := creds(as.URL, "POST", authHeader)

	tokens := make([]string, 50)
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tokens[i], errs[i] = s.Token(context.Background(), "conn@1", c)
		})
	}
	wg.Wait()

	for i := range 50 {
		if errs[i] != nil {
			t.Fatalf("Token call %d: %v", i, errs[i])
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("Token call %d = %q, want %q like call 0", i, tokens[i], tokens[0])
		}
	}
	if n := as.requests(); n != 1 {
		t.Errorf("server saw %d token requests for 50 concurrent calls, want 1", n)
	}
}

func TestTokenRefetchedBeforeExpiry(t *testing.T) {
	// Tokens live 2s, so Source hands one out for 1.8s (10% early).
	as := startAuthServer(t, 2*time.Second, false)
	s, _ := newSource(t, Config{})
	c := creds(as.URL, "POST", authHeader)
	ctx := context.Background()
	start := time.Now()

	first, err := s.Token(ctx, "conn@1", c)
	if err != nil {
		t.Fatal(err)
	}
	var lastOld, firstNew time.Time
	waitFor(t, 10*time.Second, "a new token", func() bool {
		got, err := s.Token(ctx, "conn@1", c)
		if err != nil {
			t.Fatal(err)
		}
		if got == first {
			lastOld = time.Now()
			return false
		}
		firstNew = time.Now()
		return true
	})

	if d := firstNew.Sub(start); d < 1700*time.Millisecond {
		t.Errorf("new token after %v, want the first one kept for about 1.8s", d)
	}
	if d := lastOld.Sub(start); d >= 2*time.Second {
		t.Errorf("old token still handed out after %v, past its 2s expiry", d)
	}
	if n := as.requests(); n != 2 {
		t.Errorf("server saw %d token requests, want 2", n)
	}
}

func TestInvalidateRefetchesOnce(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	s, _ := newSource(t, Config{})
	c := creds(as.URL, "POST", authHeader)
	ctx := context.Background()

	rejected, _ := s.Token(ctx, "conn@1", c)
	s.Invalidate(ctx, "conn@1", rejected)
	fresh, err := s.Token(ctx, "conn@1", c)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == rejected {
		t.Fatal("Token after Invalidate returned the rejected token")
	}

	// A second delivery that failed with the same old token must not
	// throw away the fresh one.
	s.Invalidate(ctx, "conn@1", rejected)
	again, _ := s.Token(ctx, "conn@1", c)
	if again != fresh {
		t.Errorf("Token after a stale Invalidate = %q, want the fresh %q", again, fresh)
	}
	if n := as.requests(); n != 2 {
		t.Errorf("server saw %d token requests, want 2", n)
	}

	s.Invalidate(ctx, "conn@1", "")
	if _, err := s.Token(ctx, "conn@1", c); err != nil {
		t.Fatal(err)
	}
	if n := as.requests(); n != 3 {
		t.Errorf("after Invalidate with no token, server saw %d requests, want 3", n)
	}
}

func TestNewKeyFetchesNewToken(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	s, _ := newSource(t, Config{})
	c := creds(as.URL, "POST", authHeader)
	ctx := context.Background()

	first, _ := s.Token(ctx, "conn@1", c)
	second, _ := s.Token(ctx, "conn@2", c)

	if first == second {
		t.Error("a new revision got the old revision's token")
	}
	if n := as.requests(); n != 2 {
		t.Errorf("server saw %d token requests for two keys, want 2", n)
	}
}

func TestWrongSecretIsTokenError(t *testing.T) {
	for _, auth := range []v1.ClientAuth{authHeader, authBody} {
		t.Run(auth.String(), func(t *testing.T) {
			as := startAuthServer(t, time.Hour, auth == authBody)
			s, _ := newSource(t, Config{})
			c := creds(as.URL, "POST", auth)
			c.ClientSecret = "wrong-Secret-99"

			_, err := s.Token(context.Background(), "conn@1", c)

			var tokenErr *TokenError
			if !errors.As(err, &tokenErr) {
				t.Fatalf("Token error = %v (%T), want *TokenError", err, err)
			}
			if tokenErr.StatusCode != http.StatusUnauthorized {
				t.Errorf("StatusCode = %d, want 401", tokenErr.StatusCode)
			}
			if tokenErr.ErrorCode != "invalid_client" {
				t.Errorf("ErrorCode = %q, want invalid_client", tokenErr.ErrorCode)
			}
			if tokenErr.Retryable() {
				t.Error("Retryable() = true for 401, want false")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "token request failed: status 401") {
				t.Errorf("error = %q, want it to start with token request failed: status 401", msg)
			}
			if strings.Contains(msg, "wrong-Secret-99") || strings.Contains(msg, testSecret) {
				t.Errorf("error %q contains a client secret", msg)
			}
		})
	}
}

// TestServerErrorHidesBody uses a handler that fails on purpose and
// echoes the secret in its body, as a misbehaving server might.
func TestServerErrorHidesBody(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"error":"temporarily_unavailable","error_description":"secret %s"}`, testSecret)
	}))
	t.Cleanup(ts.Close)

	for _, method := range []string{"POST", "PUT", "GET"} {
		t.Run(method, func(t *testing.T) {
			s, _ := newSource(t, Config{})
			_, err := s.Token(context.Background(), "conn@1", creds(ts.URL, method, authHeader))

			want := "token request failed: status 503, error temporarily_unavailable"
			if err == nil || err.Error() != want {
				t.Errorf("Token error = %v, want %q", err, want)
			}
			var tokenErr *TokenError
			if !errors.As(err, &tokenErr) || !tokenErr.Retryable() {
				t.Errorf("Token error %v is not a retryable *TokenError", err)
			}
		})
	}
}

func TestNetworkErrorHidesURL(t *testing.T) {
	tokenURL := "http://" + redistest.ClosedAddr(t) + "/token"
	for _, method := range []string{"POST", "PUT", "GET"} {
		t.Run(method, func(t *testing.T) {
			s, _ := newSource(t, Config{})
			c := creds(tokenURL, method, authBody,
				param(query, "api_key", "query-Secret-7", true))

			_, err := s.Token(context.Background(), "conn@1", c)

			var tokenErr *TokenError
			if !errors.As(err, &tokenErr) {
				t.Fatalf("Token error = %v (%T), want *TokenError", err, err)
			}
			if tokenErr.StatusCode != 0 || !tokenErr.Retryable() {
				t.Errorf("StatusCode = %d, Retryable = %v, want 0, true",
					tokenErr.StatusCode, tokenErr.Retryable())
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("Token error = %v, want it to wrap ECONNREFUSED", err)
			}
			msg := err.Error()
			for _, secret := range []string{"query-Secret-7", testSecret} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains secret %q", msg, secret)
				}
			}
		})
	}
}

func TestParametersPOST(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	s, _ := newSource(t, Config{})
	c := creds(as.URL, "POST", authHeader,
		param(header, "X-Tenant", "tenant-1", false),
		param(query, "resource", "https://api.example", false),
		param(body, "audience", "jenkins", false),
		param(body, "scope", "build", false),
		// A header parameter must not replace the client's Basic header.
		param(header, "Authorization", "Bearer nope", true),
	)

	if _, err := s.Token(context.Background(), "conn@1", c); err != nil {
		t.Fatal(err)
	}

	last := as.lastRequest()
	checks := []struct{ what, got, want string }{
		{"header X-Tenant", last.header.Get("X-Tenant"), "tenant-1"},
		{"query resource", last.query.Get("resource"), "https://api.example"},
		{"body audience", last.form.Get("audience"), "jenkins"},
		{"body scope", last.form.Get("scope"), "build"},
		{"body grant_type", last.form.Get("grant_type"), "client_credentials"},
		{"query audience", last.query.Get("audience"), ""},
		{"body resource", last.form.Get("resource"), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if user, _, ok := (&http.Request{Header: last.header}).BasicAuth(); !ok || user != testClientID {
		t.Errorf("Basic user = %q, %v, want %q, true", user, ok, testClientID)
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name  string
		creds *v1.OAuthClientCredentials
	}{
		{"nil", nil},
		{"no token URL", creds("", "POST", authHeader)},
		{"relative token URL", creds("/token", "POST", authHeader)},
		{"ftp token URL", creds("ftp://127.0.0.1/token", "POST", authHeader)},
		{"PATCH method", creds("http://127.0.0.1/token", "PATCH", authHeader)},
		{"no client id", &v1.OAuthClientCredentials{TokenUrl: "http://127.0.0.1/token"}},
		{"parameter without key", creds("http://127.0.0.1/token", "POST", authHeader, param(body, "", "x", false))},
		{"parameter without location", creds("http://127.0.0.1/token", "POST", authHeader,
			param(v1.ParameterLocation_PARAMETER_LOCATION_UNSPECIFIED, "k", "x", false))},
	}
	s, _ := newSource(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Token(context.Background(), "conn@1", tt.creds)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Token error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestCallerContextEndsWhileOthersWait(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(ts.Close)
	s, _ := newSource(t, Config{})
	c := creds(ts.URL, "POST", authHeader)

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	patient := make(chan error, 1)
	go func() {
		_, err := s.Token(context.Background(), "conn@1", c)
		patient <- err
	}()

	_, err := s.Token(short, "conn@1", c)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Token with a short deadline = %v, want context.DeadlineExceeded", err)
	}
	close(release)
	if err := <-patient; err != nil {
		t.Errorf("Token of the caller without a deadline = %v, want nil", err)
	}
}

func TestWithHTTPClient(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	s, _ := newSource(t, Config{})
	used := false
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}

	ctx := WithHTTPClient(context.Background(), client)
	if _, err := s.Token(ctx, "conn@1", creds(as.URL, "POST", authHeader)); err != nil {
		t.Fatal(err)
	}
	if !used {
		t.Error("the client from WithHTTPClient was not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMetricsCountLookupsAndRequests(t *testing.T) {
	as := startAuthServer(t, time.Hour, false)
	reader := sdkmetric.NewManualReader()
	s, _ := newSource(t, Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	c := creds(as.URL, "POST", authHeader)
	ctx := context.Background()

	s.Token(ctx, "conn@1", c)
	s.Token(ctx, "conn@1", c)
	s.Token(ctx, "conn@1", c)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		metric, result string
		want           int64
	}{
		{"switchyard.oauth.cache.lookups", "hit", 2},
		{"switchyard.oauth.cache.lookups", "miss", 1},
		{"switchyard.oauth.token.requests", "success", 1},
	}
	for _, c := range checks {
		if got := counterValue(rm, c.metric, c.result); got != c.want {
			t.Errorf("%s{result=%s} = %d, want %d", c.metric, c.result, got, c.want)
		}
	}
}

func counterValue(rm metricdata.ResourceMetrics, name, result string) int64 {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != name || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, _ := dp.Attributes.Value(attribute.Key("result")); v.AsString() == result {
					return dp.Value
				}
			}
		}
	}
	return 0
}

func TestResponseWithoutTokenIsTokenError(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"token_type":"Bearer","expires_in":60}`)
	}))
	t.Cleanup(ts.Close)

	for _, method := range []string{"POST", "PUT", "GET"} {
		t.Run(method, func(t *testing.T) {
			s, _ := newSource(t, Config{})
			_, err := s.Token(context.Background(), "conn@1", creds(ts.URL, method, authHeader))

			want := "token request failed: status 200: response contains no valid access token"
			if err == nil || err.Error() != want {
				t.Errorf("Token error = %v, want %q", err, want)
			}
		})
	}
}
