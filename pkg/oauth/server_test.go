package oauth

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	oauth2server "github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"
	"github.com/redis/go-redis/v9"

	"github.com/switchyard-dev/switchyard/pkg/rediscache/redistest"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const (
	testClientID = "switchyard-client"
	testSecret   = "s3cr3t-Value-42"
)

// authServer is a real OAuth 2.0 authorization server from
// github.com/go-oauth2/oauth2 that serves the client credentials grant
// and records each token request.
type authServer struct {
	URL string

	count atomic.Int64
	mu    sync.Mutex
	last  recordedRequest
}

// recordedRequest is what the server saw of a token request.
type recordedRequest struct {
	method string
	header http.Header
	query  url.Values
	form   url.Values // body fields only
}

// startAuthServer starts a server whose tokens live for expiry. With
// bodyAuth the client sends its id and secret as form fields, else in
// a Basic header. GET token requests are allowed, so GET can be tested
// against the real server too; go-oauth2 accepts only GET and POST.
func startAuthServer(t *testing.T, expiry time.Duration, bodyAuth bool) *authServer {
	t.Helper()
	manager := manage.NewDefaultManager()
	manager.SetClientTokenCfg(&manage.Config{AccessTokenExp: expiry})
	manager.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	if err := clients.Set(testClientID, &models.Client{ID: testClientID, Secret: testSecret}); err != nil {
		t.Fatal(err)
	}
	manager.MapClientStorage(clients)

	srv := server.NewServer(&server.Config{
		TokenType:             "Bearer",
		AllowGetAccessRequest: true,
		AllowedGrantTypes:     []oauth2server.GrantType{oauth2server.ClientCredentials},
	}, manager)
	srv.ClientInfoHandler = server.ClientBasicHandler
	if bodyAuth {
		srv.ClientInfoHandler = server.ClientFormHandler
	}

	s := &authServer{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		_ = srv.HandleTokenRequest(w, r)
	}))
	t.Cleanup(ts.Close)
	s.URL = ts.URL + "/oauth/token"
	return s
}

func (s *authServer) record(r *http.Request) {
	s.count.Add(1)
	_ = r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = recordedRequest{
		method: r.Method,
		header: r.Header.Clone(),
		query:  r.URL.Query(),
		form:   r.PostForm,
	}
}

func (s *authServer) lastRequest() recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *authServer) requests() int64 { return s.count.Load() }

// creds returns client credentials for the server's token URL.
func creds(tokenURL, method string, auth v1.ClientAuth, params ...*v1.Parameter) *v1.OAuthClientCredentials {
	return &v1.OAuthClientCredentials{
		TokenUrl:        tokenURL,
		TokenMethod:     method,
		ClientId:        testClientID,
		ClientSecret:    testSecret,
		ClientAuth:      auth,
		TokenParameters: params,
	}
}

func param(loc v1.ParameterLocation, key, value string, secret bool) *v1.Parameter {
	return &v1.Parameter{Location: loc, Key: key, Value: value, Secret: secret}
}

// recorder keeps the log messages of a test.
type recorder = redistest.LogRecorder

func newSource(t *testing.T, cfg Config) (*Source, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.Logger = slog.New(rec)
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, rec
}

func redisSource(t *testing.T, client redis.UniversalClient, prefix string) *Source {
	t.Helper()
	s, _ := newSource(t, Config{Redis: client, Prefix: prefix, EncryptionKey: testKey()})
	return s
}

func testKey() []byte {
	return []byte("0123456789abcdef0123456789abcdef")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
