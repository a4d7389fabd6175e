package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/jenkinstest"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/netguard"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

const (
	jenkinsPassword = "hunter2-password"
	jenkinsAPIToken = "11aa22bb33cc"
)

// startJenkins serves a Jenkins with CSRF protection on, a user "ci"
// with both a password and an API token, and the job team/app with one
// parameter. It returns the server and its URL.
func startJenkins(t *testing.T) (*jenkinstest.Server, string) {
	jenkins := jenkinstest.New(jenkinstest.Config{CSRF: true})
	jenkins.AddUser("ci", jenkinstest.User{
		Password: jenkinsPassword, APITokens: []string{jenkinsAPIToken},
	})
	jenkins.AddJob("team/app", jenkinstest.Job{Params: []jenkinstest.Param{{Name: "BRANCH"}}})
	jenkins.AddJob("team/frozen", jenkinstest.Job{Disabled: true})
	return jenkins, jenkins.Start(t)
}

func jenkinsConnection(secret string) *v1.Connection {
	return &v1.Connection{
		Name:    "jenkins",
		Network: v1.Network_NETWORK_PRIVATE,
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{
			Username: "ci", Password: secret,
		}},
	}
}

func jenkinsTask(id, job string) *internalv1.DeliveryTask {
	task := newTask("jenkins", id)
	task.Request.PathValues = []string{"team", job}
	task.Request.Body = []byte("BRANCH=main")
	task.Request.ContentType = "application/x-www-form-urlencoded"
	return task
}

// crumbRequests counts the requests to the crumb issuer.
func crumbRequests(jenkins *jenkinstest.Server) int {
	n := 0
	for _, r := range jenkins.Requests() {
		if strings.HasSuffix(r.Path, "/crumbIssuer/api/json") {
			n++
		}
	}
	return n
}

// triggerJenkins sends two identical triggers to team/app, the second
// while the first is still queued, and checks that both were delivered
// with one attempt each: 201 and then 303 for the merged trigger.
func triggerJenkins(t *testing.T, h *harness, jenkins *jenkinstest.Server) {
	t.Helper()
	var tasks []*internalv1.DeliveryTask
	for _, id := range []string{"ev-jenkins-1", "ev-jenkins-2"} {
		task := jenkinsTask(id, "app")
		tasks = append(tasks, task)
		h.publish(task)
		h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	}

	var statuses []int32
	for _, task := range tasks {
		attempts := h.record(task).GetAttempts()
		if len(attempts) != 1 {
			t.Fatalf("record of %s has %d attempts, want 1", task.GetEventId(), len(attempts))
		}
		statuses = append(statuses, attempts[0].GetStatusCode())
	}
	if statuses[0] != 201 || statuses[1] != 303 {
		t.Errorf("Jenkins answered %v, want [201 303]", statuses)
	}
	if n := len(jenkins.Triggers("team/app")); n != 2 {
		t.Errorf("Jenkins accepted %d triggers, want 2", n)
	}
}

func TestJenkinsPasswordFetchesCrumb(t *testing.T) {
	h := newHarness(t)
	jenkins, base := startJenkins(t)
	h.resolver.set(destination("jenkins", base+"/job/*/job/*/buildWithParameters"),
		jenkinsConnection(jenkinsPassword))
	h.start(h.config())

	triggerJenkins(t, h, jenkins)
	// The first trigger gets a crumb 403, fetches a crumb and is sent
	// again. The second reuses the cached crumb and session.
	if n := crumbRequests(jenkins); n != 1 {
		t.Errorf("crumb issuer saw %d requests, want 1", n)
	}
	var rejected int
	for _, r := range jenkins.Requests() {
		if r.Status == http.StatusForbidden {
			rejected++
		}
	}
	if rejected != 1 {
		t.Errorf("Jenkins rejected %d requests with 403, want 1", rejected)
	}
}

func TestJenkinsAPITokenNeedsNoCrumb(t *testing.T) {
	h := newHarness(t)
	jenkins, base := startJenkins(t)
	h.resolver.set(destination("jenkins", base+"/job/*/job/*/buildWithParameters"),
		jenkinsConnection(jenkinsAPIToken))
	h.start(h.config())

	triggerJenkins(t, h, jenkins)
	if n := crumbRequests(jenkins); n != 0 {
		t.Errorf("crumb issuer saw %d requests, want 0 with an API token", n)
	}
}

func TestJenkinsDisabledJobRetried(t *testing.T) {
	h := newHarness(t)
	jenkins, base := startJenkins(t)
	h.resolver.set(destination("jenkins", base+"/job/*/job/*/build"),
		jenkinsConnection(jenkinsAPIToken))
	h.start(h.config())

	task := jenkinsTask("ev-frozen", "frozen")
	task.RetryPolicy.MaxAttempts = proto.Int32(2)
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeRetriesExhausted || dl.GetLastStatusCode() != 409 {
		t.Errorf("dead letter code, status = %q, %d, want %q, 409",
			dl.GetErrorCode(), dl.GetLastStatusCode(), retry.CodeRetriesExhausted)
	}
	if dl.GetAttempts() != 3 {
		t.Errorf("dead letter attempts = %d, want 3: 409 is retried", dl.GetAttempts())
	}
	if n := len(jenkins.Triggers("team/frozen")); n != 0 {
		t.Errorf("Jenkins accepted %d triggers of a disabled job, want 0", n)
	}
}

func TestJenkinsUnknownJobDeadLettered(t *testing.T) {
	h := newHarness(t)
	_, base := startJenkins(t)
	h.resolver.set(destination("jenkins", base+"/job/*/job/*/build"),
		jenkinsConnection(jenkinsAPIToken))
	h.start(h.config())

	task := jenkinsTask("ev-unknown", "missing")
	h.publish(task)

	dl := h.deadLetter()
	if dl.GetErrorCode() != retry.CodeHTTP4xx || dl.GetLastStatusCode() != 404 {
		t.Errorf("dead letter code, status = %q, %d, want %q, 404",
			dl.GetErrorCode(), dl.GetLastStatusCode(), retry.CodeHTTP4xx)
	}
	if dl.GetAttempts() != 1 {
		t.Errorf("dead letter attempts = %d, want 1: 404 is not retried", dl.GetAttempts())
	}
}

// rotatingJenkins accepts a POST only with the crumb of the newest
// session, as Jenkins does once an older session expired.
type rotatingJenkins struct {
	mu       sync.Mutex
	sessions int
	issued   atomic.Int32
}

func (j *rotatingJenkins) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.URL.Path == "/crumbIssuer/api/json" {
		j.issued.Add(1)
		j.sessions++
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: fmt.Sprint(j.sessions), Path: "/"})
		fmt.Fprintf(w, `{"crumb":"crumb-%d","crumbRequestField":"Jenkins-Crumb"}`, j.sessions)
		return
	}
	cookie, err := r.Cookie("JSESSIONID")
	valid := err == nil && cookie.Value == fmt.Sprint(j.sessions) &&
		r.Header.Get("Jenkins-Crumb") == fmt.Sprintf("crumb-%d", j.sessions)
	if !valid {
		http.Error(w, crumbRejection, http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// expire ends the current session, so its crumb is rejected.
func (j *rotatingJenkins) expire() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sessions++
}

func TestCrumbDroppedAfterRejection(t *testing.T) {
	h := newHarness(t)
	jenkins := &rotatingJenkins{}
	srv := serve(t, jenkins.ServeHTTP)
	h.resolver.set(destination("jenkins", srv.URL+"/job/*/job/*/build"),
		jenkinsConnection(jenkinsPassword))
	h.start(h.config())

	first := jenkinsTask("ev-rotate-1", "app")
	h.publish(first)
	h.waitState(first, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	jenkins.expire()
	second := jenkinsTask("ev-rotate-2", "app")
	h.publish(second)
	rec := h.waitState(second, v1.DeliveryState_DELIVERY_STATE_DELIVERED)

	if n := len(rec.GetAttempts()); n != 1 {
		t.Errorf("record has %d attempts, want 1: the crumb retry is part of the attempt", n)
	}
	if n := jenkins.issued.Load(); n != 2 {
		t.Errorf("crumb issuer saw %d requests, want 2: one per session", n)
	}
}

func TestCrumbIssuerURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/job/a/build", "http://127.0.0.1:8080/crumbIssuer/api/json"},
		{"https://ci.test/job/a/job/b/buildWithParameters", "https://ci.test/crumbIssuer/api/json"},
		{"https://ci.test/jenkins/job/a/build", "https://ci.test/jenkins/crumbIssuer/api/json"},
		{"https://ci.test", "https://ci.test/crumbIssuer/api/json"},
	}
	for _, tt := range tests {
		got, err := crumbIssuerURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("crumbIssuerURL(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCrumbRequestGuarded(t *testing.T) {
	jenkins := &rotatingJenkins{}
	srv := serve(t, jenkins.ServeHTTP)
	cfg := Config{Concurrency: 1, DestinationConcurrency: 1}
	clients := newClients(cfg)
	t.Cleanup(clients.close)

	// A public connection may not reach 127.0.0.1.
	public := clients.forNetwork(v1.Network_NETWORK_PUBLIC)
	_, err := fetchCrumb(context.Background(), jenkinsConnection(jenkinsPassword),
		srv.URL+"/job/a/build", public, "test")
	if !errors.Is(err, netguard.ErrRejected) {
		t.Errorf("fetchCrumb() on a public client = %v, want netguard.ErrRejected", err)
	}
	if n := jenkins.issued.Load(); n != 0 {
		t.Errorf("crumb issuer saw %d requests, want 0", n)
	}

	private := clients.forNetwork(v1.Network_NETWORK_PRIVATE)
	session, err := fetchCrumb(context.Background(), jenkinsConnection(jenkinsPassword),
		srv.URL+"/job/a/build", private, "test")
	if err != nil {
		t.Fatalf("fetchCrumb() on a private client = %v", err)
	}
	if session.field != "Jenkins-Crumb" || session.value != "crumb-1" {
		t.Errorf("crumb = %s: %s, want Jenkins-Crumb: crumb-1", session.field, session.value)
	}
}
