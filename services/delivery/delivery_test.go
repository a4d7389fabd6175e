package delivery

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

func TestDeliverSuccess(t *testing.T) {
	h := newHarness(t)
	var got *http.Request
	var gotBody []byte
	var mu sync.Mutex
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, gotBody = r.Clone(r.Context()), body
		mu.Unlock()
		w.Header().Set("Location", "/queue/item/7/")
		w.WriteHeader(http.StatusCreated)
	})
	conn := basicConnection(v1.Network_NETWORK_PRIVATE)
	conn.InvocationParameters = []*v1.Parameter{
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-Team", Value: "conn"},
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY, Key: "token", Value: "conn-q"},
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_BODY, Key: "source", Value: "conn-b"},
	}
	h.resolver.set(destination("jenkins", srv.URL+"/job/*/buildWithParameters"), conn)
	h.start(h.config())

	task := newTask("jenkins", "ev-1")
	task.Request.PathValues = []string{"team a/b"}
	task.Request.Headers = []*internalv1.Header{
		{Name: "X-Team", Value: "target"}, {Name: "X-Trace", Value: "t1"},
	}
	task.Request.Query = []*internalv1.QueryParameter{
		{Name: "token", Value: "target-q"}, {Name: "BRANCH", Value: "main"},
	}
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if rec.GetLocation() != "/queue/item/7/" {
		t.Errorf("record location = %q, want /queue/item/7/", rec.GetLocation())
	}
	if n := len(rec.GetAttempts()); n != 1 {
		t.Fatalf("record has %d attempts, want 1", n)
	}
	a := rec.GetAttempts()[0]
	if a.GetNumber() != 1 || a.GetStatusCode() != 201 || a.GetLocation() != "/queue/item/7/" {
		t.Errorf("attempt = %v, want number 1, status 201, location /queue/item/7/", a)
	}

	mu.Lock()
	defer mu.Unlock()
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("jenkins:s3cret-token"))
	checks := []struct{ name, got, want string }{
		{"Authorization", got.Header.Get("Authorization"), wantAuth},
		{"User-Agent", got.Header.Get("User-Agent"), "switchyard/test"},
		{"Content-Type", got.Header.Get("Content-Type"), "application/json"},
		{"X-Team", got.Header.Get("X-Team"), "conn"},
		{"X-Trace", got.Header.Get("X-Trace"), "t1"},
		{"path", got.URL.EscapedPath(), "/job/team%20a%2Fb/buildWithParameters"},
		{"query token", got.URL.Query().Get("token"), "conn-q"},
		{"query BRANCH", got.URL.Query().Get("BRANCH"), "main"},
		{"method", got.Method, http.MethodPost},
		{"body", string(gotBody), `{"hello":"world","source":"conn-b"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("request %s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestRetryUntilSuccess(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-retry")
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	attempts := rec.GetAttempts()
	if len(attempts) != 3 {
		t.Fatalf("record has %d attempts, want 3: %v", len(attempts), attempts)
	}
	for i, wantStatus := range []int32{503, 503, 201} {
		if got := attempts[i].GetStatusCode(); got != wantStatus {
			t.Errorf("attempt %d status = %d, want %d", i+1, got, wantStatus)
		}
		if got := attempts[i].GetNumber(); got != int32(i+1) {
			t.Errorf("attempt %d number = %d, want %d", i+1, got, i+1)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("endpoint saw %d requests, want 3", got)
	}
}

func TestNotFoundDeadLettered(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNotFound)
		// Echo the credential, as a careless endpoint might.
		fmt.Fprintf(w, "no job here; you sent %s", r.Header.Get("Authorization"))
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-404")
	h.publish(task)

	dl, msgID := h.deadLetterMsg()
	wantID := streams.TaskMsgID(task.GetBus(), task.GetEventSource(), task.GetEventId(),
		task.GetRule(), task.GetTargetId()) + "-dl"
	if msgID != wantID {
		t.Errorf("dead letter message id = %q, want %q", msgID, wantID)
	}
	if dl.GetErrorCode() != retry.CodeHTTP4xx {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeHTTP4xx)
	}
	if dl.GetErrorMessage() != "HTTP 404" {
		t.Errorf("dead letter message = %q, want %q", dl.GetErrorMessage(), "HTTP 404")
	}
	if dl.GetAttempts() != 1 || dl.GetLastStatusCode() != 404 {
		t.Errorf("dead letter attempts, status = %d, %d, want 1, 404",
			dl.GetAttempts(), dl.GetLastStatusCode())
	}
	if !proto.Equal(dl.GetTask(), task) {
		t.Errorf("dead letter task = %v, want %v", dl.GetTask(), task)
	}
	if dl.GetFirstAttemptTime() == nil || dl.GetLastAttemptTime() == nil {
		t.Errorf("dead letter attempt times = %v, %v, want both set",
			dl.GetFirstAttemptTime(), dl.GetLastAttemptTime())
	}
	token := base64.StdEncoding.EncodeToString([]byte("jenkins:s3cret-token"))
	if strings.Contains(dl.GetResponseExcerpt(), token) {
		t.Errorf("response excerpt %q contains the Basic token", dl.GetResponseExcerpt())
	}
	if want := "no job here; you sent Basic " + redacted; dl.GetResponseExcerpt() != want {
		t.Errorf("response excerpt = %q, want %q", dl.GetResponseExcerpt(), want)
	}

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)
	if rec.GetErrorCode() != retry.CodeHTTP4xx {
		t.Errorf("record error code = %q, want %q", rec.GetErrorCode(), retry.CodeHTTP4xx)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("endpoint saw %d requests, want 1", got)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-429")
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_RETRYING)
	start := rec.GetAttempts()[0].GetStartTime().AsTime()
	delay := rec.GetNextAttemptTime().AsTime().Sub(start)
	if delay < 119*time.Second || delay > 121*time.Second {
		t.Errorf("next attempt %v after the first, want about 120s from Retry-After", delay)
	}
}

func TestRetryAfterCapped(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	cfg.MaxRetryAfter = 30 * time.Second
	h.start(cfg)

	task := newTask("d", "ev-cap")
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_RETRYING)
	start := rec.GetAttempts()[0].GetStartTime().AsTime()
	delay := rec.GetNextAttemptTime().AsTime().Sub(start)
	if delay < 29*time.Second || delay > 31*time.Second {
		t.Errorf("next attempt %v after the first, want about 30s, the cap", delay)
	}
}

func TestTimeoutRetried(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	// Registered after serve, so it runs before the server's Close,
	// which waits for the blocked handler.
	t.Cleanup(func() { close(release) })

	dest := destination("d", srv.URL)
	dest.Timeout = durationpb.New(time.Second)
	h.resolver.set(dest, basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-timeout")
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	attempts := rec.GetAttempts()
	if len(attempts) != 2 {
		t.Fatalf("record has %d attempts, want 2: %v", len(attempts), attempts)
	}
	if got, want := attempts[0].GetError(), "no response within 1s"; got != want {
		t.Errorf("first attempt error = %q, want %q", got, want)
	}
	if got := attempts[0].GetStatusCode(); got != 0 {
		t.Errorf("first attempt status = %d, want 0", got)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Redirect(w, r, "/login?from=build", http.StatusMovedPermanently)
	})
	h.resolver.set(destination("d", srv.URL+"/job/x/build"), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-301")
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeHTTP3xx {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeHTTP3xx)
	}
	if !strings.Contains(dl.GetErrorMessage(), "/login?from=build") {
		t.Errorf("dead letter message = %q, want the Location named", dl.GetErrorMessage())
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("target server saw %d requests, want 1", got)
	}
}

// TestDotSegmentPathValueRejected covers tasks rendered before the rule
// engine rejected dot segments: delivery still refuses to call.
func TestDotSegmentPathValueRejected(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusCreated)
	})
	h.resolver.set(destination("d", srv.URL+"/job/*/build"), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-dots")
	task.Request.PathValues = []string{".."}
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeConfigError {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeConfigError)
	}
	if !strings.Contains(dl.GetErrorMessage(), `path value 1 is "..", a dot segment`) {
		t.Errorf("dead letter message = %q, want the dot segment named", dl.GetErrorMessage())
	}
	if got := calls.Load(); got != 0 {
		t.Errorf("endpoint saw %d requests, want 0", got)
	}
}

func TestJenkinsQueueRedirectSucceeds(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://"+r.Host+"/queue/item/5/")
		w.WriteHeader(http.StatusSeeOther)
	})
	h.resolver.set(destination("d", srv.URL+"/job/x/buildWithParameters"),
		basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-303")
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if !strings.HasSuffix(rec.GetLocation(), "/queue/item/5/") {
		t.Errorf("record location = %q, want the queue item", rec.GetLocation())
	}
}

func TestRetriesExhausted(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-exhausted")
	task.RetryPolicy.MaxAttempts = proto.Int32(2)
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeRetriesExhausted {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeRetriesExhausted)
	}
	if dl.GetAttempts() != 3 || dl.GetLastStatusCode() != 500 {
		t.Errorf("dead letter attempts, status = %d, %d, want 3, 500",
			dl.GetAttempts(), dl.GetLastStatusCode())
	}
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)
	if n := len(rec.GetAttempts()); n != 3 {
		t.Errorf("record has %d attempts, want 3", n)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("endpoint saw %d requests, want 3", got)
	}
}

func TestNoRetryPolicyZero(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-zero")
	task.RetryPolicy.MaxAttempts = proto.Int32(0)
	task.DeadLetter = false
	h.publish(task)

	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_FAILED)
	if rec.GetErrorCode() != retry.CodeRetriesExhausted {
		t.Errorf("record error code = %q, want %q", rec.GetErrorCode(), retry.CodeRetriesExhausted)
	}
	if n := len(rec.GetAttempts()); n != 1 {
		t.Errorf("record has %d attempts, want 1", n)
	}
	if n := h.deadLetterCount(); n != 0 {
		t.Errorf("dead letter stream holds %d messages, want 0 with dead-lettering off", n)
	}
}

func TestMaxAgeExceeded(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-old")
	task.RetryPolicy.MaxEventAge = durationpb.New(time.Minute)
	task.IngestTime = timestamppb.New(time.Now().Add(-time.Hour))
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeMaxAgeExceeded {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeMaxAgeExceeded)
	}
	if got := calls.Load(); got != 0 {
		t.Errorf("endpoint saw %d requests, want 0", got)
	}
}

func TestNetworkGuard(t *testing.T) {
	tests := []struct {
		network v1.Network
		state   v1.DeliveryState
		calls   int32
	}{
		{v1.Network_NETWORK_PUBLIC, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED, 0},
		{v1.Network_NETWORK_PRIVATE, v1.DeliveryState_DELIVERY_STATE_DELIVERED, 1},
	}
	for _, tt := range tests {
		t.Run(tt.network.String(), func(t *testing.T) {
			h := newHarness(t)
			var calls atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(http.StatusOK)
			})
			h.resolver.set(destination("d", srv.URL), basicConnection(tt.network))
			h.start(h.config())

			task := newTask("d", "ev-net")
			h.publish(task)

			rec := h.waitState(task, tt.state)
			if got := calls.Load(); got != tt.calls {
				t.Errorf("endpoint saw %d requests, want %d", got, tt.calls)
			}
			if tt.state != v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED {
				return
			}
			if rec.GetErrorCode() != retry.CodeNetworkRefused {
				t.Errorf("record error code = %q, want %q", rec.GetErrorCode(), retry.CodeNetworkRefused)
			}
			msg := rec.GetErrorMessage()
			if !strings.Contains(msg, "127.0.0.1") || !strings.Contains(msg, "public") {
				t.Errorf("record error message = %q, want the address and network named", msg)
			}
			if fix := "switchyard connection update conn1 --network private"; !strings.Contains(msg, fix) {
				t.Errorf("record error message = %q, want the fix %q", msg, fix)
			}
		})
	}
}

func TestUnknownDestinationDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.start(h.config())

	task := newTask("missing", "ev-missing")
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeDestinationNotFound {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeDestinationNotFound)
	}
	if dl.GetAttempts() != 0 {
		t.Errorf("dead letter attempts = %d, want 0", dl.GetAttempts())
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	h := newHarness(t)
	var tokensIssued atomic.Int32
	var tokenForm url.Values
	var tokenUser, tokenPass string
	var mu sync.Mutex
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_ = r.ParseForm()
			n := tokensIssued.Add(1)
			mu.Lock()
			tokenForm = r.PostForm
			tokenUser, tokenPass, _ = r.BasicAuth()
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	conn := &v1.Connection{
		Name:    "oauth",
		Network: v1.Network_NETWORK_PRIVATE,
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl: srv.URL + "/token", ClientId: "id", ClientSecret: "very-secret",
				TokenParameters: []*v1.Parameter{
					{Location: v1.ParameterLocation_PARAMETER_LOCATION_BODY, Key: "scope", Value: "hooks"},
				},
			},
		},
	}
	h.resolver.set(destination("d", srv.URL+"/hook"), conn)
	h.start(h.config())

	for _, id := range []string{"ev-oauth-1", "ev-oauth-2"} {
		task := newTask("d", id)
		h.publish(task)
		h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	}

	if got := tokensIssued.Load(); got != 1 {
		t.Errorf("token endpoint issued %d tokens, want 1 reused for both deliveries", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if tokenUser != "id" || tokenPass != "very-secret" {
		t.Errorf("token request Basic credentials = %q, %q, want id, very-secret", tokenUser, tokenPass)
	}
	if got := tokenForm.Get("grant_type"); got != "client_credentials" {
		t.Errorf("grant_type = %q, want client_credentials", got)
	}
	if got := tokenForm.Get("scope"); got != "hooks" {
		t.Errorf("scope = %q, want hooks", got)
	}
}

func TestOAuthTokenRejected(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
	})
	conn := &v1.Connection{
		Name:    "oauth",
		Network: v1.Network_NETWORK_PRIVATE,
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl: srv.URL + "/token", ClientId: "id", ClientSecret: "very-secret",
			},
		},
	}
	h.resolver.set(destination("d", srv.URL+"/hook"), conn)
	h.start(h.config())

	task := newTask("d", "ev-oauth-rejected")
	task.RetryPolicy.MaxAttempts = proto.Int32(1)
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeRetriesExhausted {
		t.Errorf("dead letter code = %q, want %q", dl.GetErrorCode(), retry.CodeRetriesExhausted)
	}
	if !strings.Contains(dl.GetErrorMessage(), retry.CodeAuthFailed) {
		t.Errorf("dead letter message = %q, want the last failure %s named",
			dl.GetErrorMessage(), retry.CodeAuthFailed)
	}
	if strings.Contains(dl.GetErrorMessage(), "very-secret") {
		t.Errorf("dead letter message %q contains the client secret", dl.GetErrorMessage())
	}
}

func TestRotatedCredentialResolvedAgain(t *testing.T) {
	h := newHarness(t)
	var accepted atomic.Value
	accepted.Store("old")
	srv := serve(t, retryAfterHour(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pass, _ := r.BasicAuth(); pass != accepted.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})))
	conn := basicConnection(v1.Network_NETWORK_PRIVATE)
	conn.GetBasic().Password = "old"
	conn.Revision = 1
	h.resolver.set(destination("d", srv.URL), conn)
	h.start(h.config())

	first := newTask("d", "ev-cached")
	h.publish(first)
	h.waitState(first, v1.DeliveryState_DELIVERY_STATE_DELIVERED)

	// Rotate the password without a change notice, so the cached
	// credential is rejected.
	accepted.Store("new")
	conn.GetBasic().Password = "new"
	conn.Revision = 2
	h.resolver.set(destination("d", srv.URL), conn)

	task := newTask("d", "ev-rotated")
	h.publish(task)
	rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)

	attempts := rec.GetAttempts()
	if len(attempts) != 2 {
		t.Fatalf("record has %d attempts, want 2: %v", len(attempts), attempts)
	}
	if got := attempts[0].GetStatusCode(); got != 401 {
		t.Errorf("first attempt status = %d, want 401", got)
	}
	if got := attempts[1].GetStatusCode(); got != 200 {
		t.Errorf("second attempt status = %d, want 200", got)
	}
	if got := h.resolver.callCount("d"); got != 2 {
		t.Errorf("resolver calls = %d, want 2", got)
	}
}

func TestRedriveStartsNewRun(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		// The first run fails twice. The redrive fails once, then succeeds.
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.start(h.config())

	task := newTask("d", "ev-redrive")
	task.RetryPolicy.MaxAttempts = proto.Int32(1)
	h.publish(task)
	h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)

	redriven := proto.Clone(task).(*internalv1.DeliveryTask)
	redriven.Redriven = true
	redriven.RedriveCount = 1
	h.publishWithID(redriven, "redrive-1")

	rec := h.waitState(redriven, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if n := len(rec.GetAttempts()); n != 4 {
		t.Errorf("record has %d attempts, want 4 over both runs", n)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("endpoint saw %d requests, want 4", got)
	}
}

func TestFailedAttemptLogsThrottled(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	h.resolver.set(destination("gone", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	cfg := h.config()
	var out *syncBuffer
	cfg.Logger, out = capturingLogger(t)
	h.start(cfg)

	const tasks = 20
	var last *internalv1.DeliveryTask
	for i := range tasks {
		last = newTask("gone", fmt.Sprintf("ev-gone-%d", i))
		h.publish(last)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.deadLetterCount() < tasks {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d dead letters within 10 s", h.deadLetterCount(), tasks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.waitState(last, v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)

	if got := strings.Count(out.String(), "delivery failed for good"); got != 1 {
		t.Errorf("%d lines of failed deliveries for %d dead letters of one destination, "+
			"want 1 within the interval:\n%s", got, tasks, out.String())
	}
}
