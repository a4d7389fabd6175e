package jenkinstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultVersion is the Jenkins version that the server reports in the
// X-Jenkins header when [Config.Version] is empty.
const DefaultVersion = "2.528.1"

// DefaultQuietPeriod is the quiet period of a job whose [Job.QuietPeriod]
// and [Config.QuietPeriod] are both zero. Jenkins uses the same default.
const DefaultQuietPeriod = 5 * time.Second

// NoQuietPeriod is a quiet period that makes triggered builds due at once.
// Any negative duration has the same effect.
const NoQuietPeriod time.Duration = -1

// MaxBodyBytes is the maximum request body size. The server rejects larger
// bodies with 413 Request Entity Too Large.
const MaxBodyBytes = 10 << 20

// leftItemLifetime is how long Jenkins keeps an item that left the queue
// before /queue/item/N/api/json returns 404.
const leftItemLifetime = 5 * time.Minute

// Config is the server-wide configuration. The zero value is a server with
// CSRF protection off, no anonymous read access, version [DefaultVersion],
// a 5 s default quiet period and a manual clock.
type Config struct {
	// CSRF turns on crumb checks for POST requests not authenticated by an
	// API token, and the crumb issuer at /crumbIssuer/api/json.
	CSRF bool

	// AnonymousRead gives anonymous callers read access to jobs, the queue
	// and builds. Without it they get 403 on every URL except the Generic
	// Webhook Trigger endpoint. Anonymous callers never have the build
	// permission, so they can trigger only with a job's trigger token.
	AnonymousRead bool

	// Version is sent in the X-Jenkins header. It also selects version
	// dependent status codes: a merged buildWithParameters trigger gets 303
	// from 2.308 and 201 before, and buildWithParameters on a job without
	// parameters gets 400 from 2.524 and 500 before.
	Version string

	// QuietPeriod is the quiet period of jobs that set none. Zero means
	// [DefaultQuietPeriod] and a negative value means none.
	QuietPeriod time.Duration

	// Now is the clock. When nil, the server uses a manual clock that starts
	// at 2026-01-01T00:00:00Z and moves only with [Server.Advance]. When
	// set, [Server.Advance] adds an offset to it. The server moves queue
	// items and builds forward when it handles a request or a method is
	// called, not in the background.
	Now func() time.Time

	// BuildDuration, when positive, makes builds finish with SUCCESS after
	// they ran that long on the server clock. When zero, builds run until
	// [Server.FinishBuild] is called.
	BuildDuration time.Duration
}

// User is an account that can authenticate with HTTP Basic authentication.
type User struct {
	// Password is the login password. Empty means the user has none.
	Password string

	// APITokens are the user's API tokens. A request authenticated by one
	// needs no CSRF crumb.
	APITokens []string

	// Jobs lists the full names of the jobs the user can see and build.
	// Nil means all jobs. Other jobs return 404 to this user, as in Jenkins.
	Jobs []string
}

// Param is a string parameter that a job declares.
type Param struct {
	// Name is the parameter name, such as "BRANCH".
	Name string

	// Default is the value used when a trigger does not set the parameter.
	Default string
}

// Job is the configuration of a job.
type Job struct {
	// Params are the declared parameters, in order. A job with parameters
	// rejects /build without a json form field, and a job without them
	// rejects /buildWithParameters.
	Params []Param

	// Disabled makes every trigger fail with 409 Conflict.
	Disabled bool

	// Token is the "Trigger builds remotely" token, passed as ?token=. A
	// matching token lets anonymous callers trigger and allows GET. Empty
	// means the job has none.
	Token string

	// QuietPeriod is how long a triggered item waits in the queue. Zero
	// means [Config.QuietPeriod] and a negative value means none. A
	// trigger's delay parameter overrides it.
	QuietPeriod time.Duration

	// WebhookToken is the token of the job's Generic Webhook Trigger. Empty
	// means /generic-webhook-trigger/invoke never triggers the job.
	WebhookToken string

	// WebhookVariables maps variable names to JSONPath expressions that the
	// Generic Webhook Trigger evaluates on the request body, such as
	// {"REF": "$.ref"}. Variables named like a declared parameter set it.
	// Only the $.name.name[index] subset of JSONPath is supported.
	WebhookVariables map[string]string
}

// Server is a Jenkins-compatible [http.Handler]. Create one with [New].
// All methods are safe for concurrent use, also while requests are served.
type Server struct {
	mu sync.Mutex

	config        Config
	offset        time.Duration
	manualStart   time.Time
	cookieName    string
	crumbSalt     []byte
	users         map[string]*User
	jobs          map[string]*jobState
	sessions      map[string]bool
	queue         map[int64]*queueItem
	nextQueueID   int64
	requests      []Request
	versionNumber []int
}

// New returns a server with the given configuration and no users or jobs.
// The server does not listen until it is passed to an HTTP server or
// [Server.Start] is called.
func New(config Config) *Server {
	if config.Version == "" {
		config.Version = DefaultVersion
	}
	s := &Server{
		config:        config,
		manualStart:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		cookieName:    "JSESSIONID." + randomHex(4),
		crumbSalt:     []byte(randomHex(16)),
		users:         make(map[string]*User),
		jobs:          make(map[string]*jobState),
		sessions:      make(map[string]bool),
		queue:         make(map[int64]*queueItem),
		nextQueueID:   1,
		versionNumber: parseVersion(config.Version),
	}
	return s
}

// AddUser adds or replaces a user. It panics when the name is empty or
// contains a colon, because HTTP Basic authentication could not carry it.
func (s *Server) AddUser(name string, user User) {
	if name == "" || strings.Contains(name, ":") {
		panic(fmt.Sprintf("jenkinstest: invalid user name %q: "+
			"it must be non-empty and contain no colon", name))
	}
	user.APITokens = append([]string(nil), user.APITokens...)
	user.Jobs = append([]string(nil), user.Jobs...)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = &user
}

// AddJob adds or replaces a job. The full name separates folders with
// slashes, so "team/test" is served at /job/team/job/test/. Replacing a job
// keeps its builds and triggers. AddJob panics on an empty name segment.
func (s *Server) AddJob(fullName string, job Job) {
	for _, segment := range strings.Split(fullName, "/") {
		if segment == "" {
			panic(fmt.Sprintf("jenkinstest: invalid job name %q: empty folder or job name", fullName))
		}
	}
	job.Params = append([]Param(nil), job.Params...)

	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.jobs[fullName]; ok {
		existing.config = job
		return
	}
	s.jobs[fullName] = &jobState{
		name:      fullName,
		config:    job,
		nextBuild: 1,
		builds:    make(map[int]*build),
	}
}

// SetJobDisabled disables or enables a job. It returns an error when the
// job does not exist.
func (s *Server) SetJobDisabled(fullName string, disabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	job, ok := s.jobs[fullName]
	if !ok {
		return fmt.Errorf("jenkinstest: job %q not found", fullName)
	}
	job.config.Disabled = disabled
	return nil
}

// Start serves the server on a new [httptest.Server] listening on
// 127.0.0.1 with a random port, and returns its base URL without a
// trailing slash. The listener is closed by t.Cleanup.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	httpServer := httptest.NewServer(s)
	t.Cleanup(httpServer.Close)
	return httpServer.URL
}

// ServeHTTP handles one request as Jenkins would, and records it for
// [Server.Requests].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		http.Error(w, "reading request body failed: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	var resp response
	if len(body) > MaxBodyBytes {
		resp = errorResponse(http.StatusRequestEntityTooLarge, "Request body is larger than the limit")
		body = body[:MaxBodyBytes]
	}

	s.mu.Lock()
	received := s.now()
	if resp.status == 0 {
		resp = s.handle(r, body)
	}
	resp.header.Set("X-Jenkins", s.config.Version)
	s.requests = append(s.requests, newRequest(r, body, received, resp.status))
	s.mu.Unlock()

	resp.write(w)
}

func randomHex(byteCount int) string {
	buffer := make([]byte, byteCount)
	_, _ = rand.Read(buffer) // crypto/rand.Read never returns an error since Go 1.24.
	return hex.EncodeToString(buffer)
}
