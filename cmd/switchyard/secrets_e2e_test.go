package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	oauth2server "github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// The secret values of the test. Each is plain ASCII, so that no
// encoding could hide it from the search.
const (
	secretPassword    = "basic-Pa55word-7f3e1"
	secretAPIKey      = "apikey-Value-9c1d2"
	secretClient      = "oauth-Client-Secret-42ab3"
	secretHeaderParam = "header-Param-Secret-55c4"
	secretQueryParam  = "query-Param-Secret-66d5"
	secretBodyParam   = "body-Param-Secret-77e6"
	secretTokenParam  = "token-Param-Secret-88f7"
	oauthClientID     = "switchyard-e2e"
)

// startLoggedDevStack is startDevStack with every log line, at debug
// level, also written to the returned buffer, every span exported to
// spans, and delivery's caches in the Redis server of redisURL if set.
func startLoggedDevStack(t *testing.T, env map[string]string, spans sdktrace.SpanExporter,
	redisURL, prefix string) (*devStack, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, logs),
		&slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.Start(ctx, stack.Config{
		DataDir:       t.TempDir(),
		NATSListen:    "127.0.0.1:0",
		ConfigListen:  "127.0.0.1:0",
		IngestListen:  "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0",
		Logger:        logger,
		SpanExporter:  spans,
		RedisURL:      redisURL,
		Prefix:        prefix,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stack stopped with %v", err)
		}
		s.Close()
	})

	c := cli{
		t:      t,
		server: s.ConfigAddr().String(),
		ingest: "http://" + s.IngestAddr().String(),
		env:    env,
	}
	return &devStack{Stack: s, cli: c}, logs
}

// tokenIssuer is a real OAuth 2.0 server (github.com/go-oauth2/oauth2)
// for the client credentials grant. It keeps every access token it
// issues, since those are secrets too.
type tokenIssuer struct {
	URL string
	srv *server.Server

	mu     sync.Mutex
	tokens []string
}

func startTokenIssuer(t *testing.T) *tokenIssuer {
	t.Helper()
	manager := manage.NewDefaultManager()
	manager.SetClientTokenCfg(&manage.Config{AccessTokenExp: time.Hour})
	manager.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	err := clients.Set(oauthClientID, &models.Client{ID: oauthClientID, Secret: secretClient})
	if err != nil {
		t.Fatal(err)
	}
	manager.MapClientStorage(clients)

	ti := &tokenIssuer{}
	ti.srv = server.NewServer(&server.Config{
		TokenType:         "Bearer",
		AllowedGrantTypes: []oauth2server.GrantType{oauth2server.ClientCredentials},
	}, manager)
	ti.srv.ClientInfoHandler = server.ClientBasicHandler

	ts := httptest.NewServer(http.HandlerFunc(ti.serveToken))
	t.Cleanup(ts.Close)
	ti.URL = ts.URL + "/oauth/token"
	return ti
}

func (ti *tokenIssuer) serveToken(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	_ = ti.srv.HandleTokenRequest(rec, r)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.AccessToken != "" {
		ti.mu.Lock()
		ti.tokens = append(ti.tokens, body.AccessToken)
		ti.mu.Unlock()
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (ti *tokenIssuer) issued() []string {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return append([]string(nil), ti.tokens...)
}

// echoEndpoint returns 200 on /ok and, on /fail, 400 with every request
// header, the query and the body in the response, as some servers'
// error pages do. A dead letter's response excerpt would show the
// secrets unless delivery removes them.
type echoEndpoint struct {
	mu   sync.Mutex
	seen []string // the echoed text of each failed request
}

func (e *echoEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ok" {
		w.WriteHeader(http.StatusOK)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var echo strings.Builder
	for _, k := range names {
		fmt.Fprintf(&echo, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	fmt.Fprintf(&echo, "query: %s\nbody: %s\n", r.URL.RawQuery, body)

	e.mu.Lock()
	e.seen = append(e.seen, echo.String())
	e.mu.Unlock()
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, echo.String())
}

func (e *echoEndpoint) echoed() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.seen, "\n")
}

// waitFinal waits until the event has want deliveries, each delivered
// or dead-lettered, and returns them.
func waitFinal(t *testing.T, c cli, eventID string, want int) []*v1.Delivery {
	t.Helper()
	var got []*v1.Delivery
	waitFor(t, 30*time.Second, func() (bool, string) {
		r := c.run("-o", "json", "deliveries", "get", eventID)
		if r.code != exitOK {
			return false, r.stderr
		}
		resp := &v1.GetDeliveriesResponse{}
		if err := protojsonUnmarshal([]byte(r.stdout), resp); err != nil {
			return false, "undecodable output: " + r.stdout
		}
		got = resp.GetDeliveries()
		if len(got) != want {
			return false, fmt.Sprintf("%d deliveries, want %d", len(got), want)
		}
		for _, d := range got {
			switch d.GetState() {
			case v1.DeliveryState_DELIVERY_STATE_DELIVERED,
				v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED:
			default:
				return false, d.GetApiDestination() + " is " + d.GetState().String()
			}
		}
		return true, ""
	})
	return got
}

func TestSecretsNeverShown(t *testing.T) {
	issuer := startTokenIssuer(t)
	echo := &echoEndpoint{}
	endpoint := httptest.NewServer(echo)
	t.Cleanup(endpoint.Close)

	// With Redis, delivery's caches go there under the topology prefix.
	redisURL, prefix := os.Getenv("REDIS_URL"), ""
	if redisURL != "" {
		prefix = fmt.Sprintf("secrets_%d", time.Now().UnixNano())
	} else {
		t.Log("REDIS_URL is not set: delivery caches in memory, and Redis is not searched")
	}

	// Spans are exported in batches until the stack closes, so they are
	// searched in a cleanup that runs after the stack's.
	spans := &spanRecorder{}
	secrets := map[string]string{}
	t.Cleanup(func() { spans.search(t, secrets) })

	s, logs := startLoggedDevStack(t, map[string]string{
		"BASIC_PASSWORD": secretPassword,
		"API_KEY":        secretAPIKey,
		"CLIENT_SECRET":  secretClient,
		"HEADER_SECRET":  secretHeaderParam,
		"QUERY_SECRET":   secretQueryParam,
		"BODY_SECRET":    secretBodyParam,
		"TOKEN_SECRET":   secretTokenParam,
	}, spans, redisURL, prefix)
	c := s.cli

	var outputs []string
	run := func(args ...string) result {
		t.Helper()
		r := c.run(args...)
		outputs = append(outputs, strings.Join(args, " ")+"\n"+r.stdout+r.stderr)
		return r
	}

	connections := map[string][]string{
		"basic-conn": {"--auth", "basic", "--username", "jenkins",
			"--password-env", "BASIC_PASSWORD", "--header-env", "X-Signing=HEADER_SECRET"},
		"key-conn": {"--auth", "api_key", "--api-key-name", "X-API-Key",
			"--api-key-env", "API_KEY", "--query-env", "sig=QUERY_SECRET"},
		"oauth-conn": {"--auth", "oauth_client_credentials", "--token-url", issuer.URL,
			"--client-id", oauthClientID, "--client-secret-env", "CLIENT_SECRET",
			"--token-param-env", "body:resource=TOKEN_SECRET",
			"--body-field-env", "api_secret=BODY_SECRET"},
	}
	for name, flags := range connections {
		args := append([]string{"connection", "create", name, "--network", "private"}, flags...)
		run(args...).wantCode(t, exitOK)
		var targets []string
		for _, outcome := range []string{"ok", "fail"} {
			dest := outcome + "-" + name
			run("destination", "create", dest, "--url", endpoint.URL+"/"+outcome,
				"--method", "POST", "--connection", name).wantCode(t, exitOK)
			targets = append(targets, "--target", dest)
		}
		rule := append([]string{"rule", "create", "r-" + name, "--bus", "default",
			"--pattern", `{"source":["secrets-test"]}`}, targets...)
		run(rule...).wantCode(t, exitOK)
		s.waitRuleLoaded(t, "default", "r-"+name)
	}

	r := run("events", "put", "--bus", "default", "--type", "test.secrets",
		"--source", "secrets-test", "--data", `{"n":1}`)
	r.wantCode(t, exitOK)
	eventID := trimLine(r.stdout)
	deliveries := waitFinal(t, c, eventID, 6)
	for _, d := range deliveries {
		wantState := v1.DeliveryState_DELIVERY_STATE_DELIVERED
		if strings.HasPrefix(d.GetApiDestination(), "fail-") {
			wantState = v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED
		}
		if d.GetState() != wantState {
			t.Errorf("delivery to %s is %v, want %v", d.GetApiDestination(), d.GetState(), wantState)
		}
	}

	// Every way a user can look at the configuration and the outcomes.
	run("-o", "json", "deliveries", "get", eventID).wantCode(t, exitOK)
	run("deliveries", "get", eventID).wantCode(t, exitOK)
	run("-o", "json", "connection", "list").wantCode(t, exitOK)
	run("connection", "list").wantCode(t, exitOK)
	for name := range connections {
		run("-o", "json", "connection", "get", name).wantCode(t, exitOK)
		run("connection", "get", name).wantCode(t, exitOK)
		for _, outcome := range []string{"ok", "fail"} {
			run("-o", "json", "destination", "get", outcome+"-"+name).wantCode(t, exitOK)
			run("destination", "get", outcome+"-"+name).wantCode(t, exitOK)
		}
	}
	r = run("-o", "json", "dlq", "list")
	r.wantCode(t, exitOK)
	run("dlq", "list").wantCode(t, exitOK)
	list := &v1.ListDeadLettersResponse{}
	if err := protojsonUnmarshal([]byte(r.stdout), list); err != nil {
		t.Fatalf("dlq list output: %v", err)
	}
	if n := len(list.GetDeadLetters()); n != 3 {
		t.Errorf("dlq list has %d dead letters, want 3", n)
	}
	redacted := 0
	for _, dl := range list.GetDeadLetters() {
		run("-o", "json", "dlq", "show", dl.GetId()).wantCode(t, exitOK)
		run("dlq", "show", dl.GetId()).wantCode(t, exitOK)
		if strings.Contains(dl.GetResponseExcerpt(), "[REDACTED]") {
			redacted++
		}
	}

	tokens := issuer.issued()
	if len(tokens) == 0 {
		t.Fatal("the OAuth server issued no token")
	}
	for what, value := range map[string]string{
		"password":           secretPassword,
		"basic credentials":  base64.StdEncoding.EncodeToString([]byte("jenkins:" + secretPassword)),
		"api key":            secretAPIKey,
		"client secret":      secretClient,
		"secret header":      secretHeaderParam,
		"secret query value": secretQueryParam,
		"secret body field":  secretBodyParam,
		"secret token param": secretTokenParam,
	} {
		secrets[what] = value
	}
	for i, token := range tokens {
		secrets[fmt.Sprintf("issued access token %d", i+1)] = token
	}

	// The failing endpoint did receive every secret that a call sends,
	// so the search below could find them if they leaked.
	sent := echo.echoed()
	for _, what := range []string{"basic credentials", "api key", "secret header",
		"secret query value", "secret body field", "issued access token 1"} {
		if !strings.Contains(sent, secrets[what]) {
			t.Errorf("the failing endpoint never received the %s, so this test cannot see it leak", what)
		}
	}
	if redacted != 3 {
		t.Errorf("%d of 3 response excerpts show [REDACTED], want all: each echoed a secret", redacted)
	}

	shown := map[string]string{"logs": logs.String()}
	if redisURL != "" {
		for key, value := range redisValues(t, redisURL, prefix) {
			shown["redis value "+key] = value
		}
	}
	for i, out := range outputs {
		shown[fmt.Sprintf("CLI output %d (%s)", i, strings.SplitN(out, "\n", 2)[0])] = out
	}
	for where, text := range shown {
		for what, value := range secrets {
			if strings.Contains(text, value) {
				t.Errorf("%s contains the %s", where, what)
			}
		}
	}
}

// spanRecorder is a span exporter that keeps each span as text. It
// keeps them after Shutdown, unlike tracetest.InMemoryExporter, so the
// spans flushed when the stack closes can still be searched.
type spanRecorder struct {
	mu    sync.Mutex
	spans []string
}

func (r *spanRecorder) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, span := range spans {
		r.spans = append(r.spans, fmt.Sprintf("%s %v %v %v %v", span.Name(),
			span.Attributes(), span.Events(), span.Status(), span.Links()))
	}
	return nil
}

func (r *spanRecorder) Shutdown(context.Context) error { return nil }

// search reports each secret found in a span's name, attributes,
// events or status.
func (r *spanRecorder) search(t *testing.T, secrets map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) == 0 {
		t.Error("no spans were exported, so traces were not searched for secrets")
	}
	for _, span := range r.spans {
		for what, value := range secrets {
			if strings.Contains(span, value) {
				t.Errorf("span %q contains the %s", strings.SplitN(span, " ", 2)[0], what)
			}
		}
	}
}

// redisValues returns the raw values of delivery's Redis keys under the
// topology prefix, and deletes them when the test ends.
func redisValues(t *testing.T, url, prefix string) map[string]string {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })

	ctx := context.Background()
	keys, err := client.Keys(ctx, "switchyard:"+prefix+":*").Result()
	if err != nil {
		t.Fatalf("list redis keys: %v", err)
	}
	t.Cleanup(func() {
		if len(keys) > 0 {
			_ = client.Del(context.Background(), keys...).Err()
		}
	})
	if len(keys) == 0 {
		t.Error("delivery stored nothing in Redis, so Redis was not searched for secrets")
	}
	values := map[string]string{}
	for _, key := range keys {
		if values[key], err = client.Get(ctx, key).Result(); err != nil && err != redis.Nil {
			t.Fatalf("read redis key %s: %v", key, err)
		}
	}
	return values
}
