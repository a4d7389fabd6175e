package jenkinstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	adminPassword = "admin-password"
	adminToken    = "11aa22bb33cc44dd55ee66ff77889900aa"
	otherPassword = "other-password"
)

// call is one HTTP request of a test.
type call struct {
	method string
	path   string

	// user and secret set HTTP Basic credentials when user is not empty.
	user   string
	secret string

	contentType string
	body        string
	header      map[string]string
	cookies     []*http.Cookie
}

// result is a response with its body read.
type result struct {
	status int
	header http.Header
	body   string
	resp   *http.Response
}

// newFixture returns a started server with the users and jobs most tests
// need:
//
//   - admin: password and API token, can see all jobs
//   - other: password, can see only "test"
//   - test: no parameters
//   - param: BRANCH (default main) and EVENT_ID, trigger token "t"
//   - disabled: disabled
//   - team/test: inside the folder team
//   - hooked: Generic Webhook Trigger token "hook", REF from $.ref
func newFixture(t *testing.T, config Config) (*Server, string) {
	t.Helper()
	s := New(config)
	s.AddUser("admin", User{Password: adminPassword, APITokens: []string{adminToken}})
	s.AddUser("other", User{Password: otherPassword, Jobs: []string{"test"}})
	s.AddJob("test", Job{})
	s.AddJob("param", Job{
		Params: []Param{{Name: "BRANCH", Default: "main"}, {Name: "EVENT_ID"}},
		Token:  "t",
	})
	s.AddJob("disabled", Job{Disabled: true})
	s.AddJob("team/test", Job{})
	s.AddJob("hooked", Job{
		Params:           []Param{{Name: "REF", Default: "none"}},
		WebhookToken:     "hook",
		WebhookVariables: map[string]string{"REF": "$.ref", "SHA": "$.commits[0].id"},
	})
	return s, s.Start(t)
}

// send performs a call against base and never follows redirects, as a
// Jenkins client must not.
func send(t *testing.T, base string, c call) result {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatalf("http.NewRequest(%s %s) failed: %v", method, c.path, err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.secret)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for key, value := range c.header {
		req.Header.Set(key, value)
	}
	for _, cookie := range c.cookies {
		req.AddCookie(cookie)
	}

	client := &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s failed: %v", method, c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body of %s %s failed: %v", method, c.path, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(body), resp: resp}
}

// post returns a POST call authenticated by the admin API token, which
// needs no crumb.
func post(path string) call {
	return call{method: http.MethodPost, path: path, user: "admin", secret: adminToken}
}

// postForm returns a POST call with an urlencoded body, authenticated by
// the admin API token.
func postForm(path, body string) call {
	c := post(path)
	c.contentType = "application/x-www-form-urlencoded"
	c.body = body
	return c
}

// get returns a GET call authenticated by the admin API token.
func get(path string) call {
	return call{path: path, user: "admin", secret: adminToken}
}

// decodeJSON decodes a response body into a map, failing the test when it
// is not a JSON object.
func decodeJSON(t *testing.T, r result) map[string]any {
	t.Helper()
	var value map[string]any
	if err := json.Unmarshal([]byte(r.body), &value); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return value
}

func wantStatus(t *testing.T, r result, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d (body %q)", r.status, want, r.body)
	}
}
