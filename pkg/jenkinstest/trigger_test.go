package jenkinstest

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTriggerResponses(t *testing.T) {
	buildJSON := "json=" + url.QueryEscape(`{"parameter":[{"name":"BRANCH","value":"dev"}]}`)

	tests := []struct {
		name          string
		anonymousRead bool
		call          call
		wantStatus    int
		wantBody      string
		wantHeader    map[string]string
	}{
		{
			name:       "build without parameters",
			call:       post("/job/test/build"),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "build in folder",
			call:       post("/job/team/job/test/build"),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "build with trailing slash",
			call:       post("/job/test/build/"),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "build with json field",
			call:       postForm("/job/param/build", buildJSON),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "build parameterized without json",
			call:       post("/job/param/build"),
			wantStatus: http.StatusBadRequest,
			wantBody:   "Nothing is submitted",
		},
		{
			name:       "build with invalid json",
			call:       postForm("/job/param/build", "json=%7B"),
			wantStatus: http.StatusBadRequest,
			wantBody:   "invalid json form field",
		},
		{
			name:       "buildWithParameters query string",
			call:       post("/job/param/buildWithParameters?BRANCH=dev"),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "buildWithParameters not parameterized",
			call:       post("/job/test/buildWithParameters?BRANCH=dev"),
			wantStatus: http.StatusBadRequest,
			wantBody:   "test is not parameterized",
		},
		{
			name:       "GET build with password",
			call:       call{path: "/job/test/build", user: "admin", secret: adminPassword},
			wantStatus: http.StatusMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "POST"},
		},
		{
			name:       "GET buildWithParameters with password",
			call:       call{path: "/job/param/buildWithParameters?BRANCH=dev", user: "admin", secret: adminPassword},
			wantStatus: http.StatusMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "POST"},
		},
		{
			name:          "GET with valid trigger token",
			anonymousRead: true,
			call:          call{path: "/job/param/buildWithParameters?token=t&BRANCH=dev"},
			wantStatus:    http.StatusCreated,
		},
		{
			name:       "GET with API token",
			call:       get("/job/test/build"),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "invalid trigger token",
			call:       post("/job/param/buildWithParameters?token=wrong"),
			wantStatus: http.StatusForbidden,
			wantBody:   "Invalid token provided.",
		},
		{
			name:       "invalid trigger token in body",
			call:       postForm("/job/param/buildWithParameters", "token=wrong"),
			wantStatus: http.StatusForbidden,
			wantBody:   "Invalid token provided.",
		},
		{
			name:          "anonymous without trigger token",
			anonymousRead: true,
			call:          call{method: http.MethodPost, path: "/job/param/buildWithParameters"},
			wantStatus:    http.StatusForbidden,
			wantBody:      "anonymous is missing the Job/Build permission",
		},
		{
			name:          "anonymous with trigger token",
			anonymousRead: true,
			call:          call{method: http.MethodPost, path: "/job/param/buildWithParameters?token=t"},
			wantStatus:    http.StatusCreated,
		},
		{
			name:       "disabled job",
			call:       post("/job/disabled/build"),
			wantStatus: http.StatusConflict,
			wantBody:   "disabled is not buildable",
		},
		{
			name:       "unknown job",
			call:       post("/job/missing/build"),
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "unknown folder",
			call:       post("/job/missing/job/test/build"),
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "folder is not a job",
			call:       post("/job/team/build"),
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "job outside folder path",
			call:       post("/job/team/job/param/build"),
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "job the user may not see",
			call:       call{method: http.MethodPost, path: "/job/param/buildWithParameters", user: "other", secret: otherPassword},
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "invalid delay",
			call:       post("/job/test/build?delay=soon"),
			wantStatus: http.StatusBadRequest,
			wantBody:   "Invalid delay parameter value: soon",
		},
		{
			name:       "unknown action",
			call:       post("/job/test/rebuild"),
			wantStatus: http.StatusNotFound,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, base := newFixture(t, Config{AnonymousRead: test.anonymousRead})
			got := send(t, base, test.call)

			if got.status != test.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", got.status, test.wantStatus, got.body)
			}
			if !strings.Contains(got.body, test.wantBody) {
				t.Errorf("body = %q, want it to contain %q", got.body, test.wantBody)
			}
			for key, want := range test.wantHeader {
				if value := got.header.Get(key); value != want {
					t.Errorf("header %s = %q, want %q", key, value, want)
				}
			}
			if test.wantStatus == http.StatusCreated {
				location := got.header.Get("Location")
				if want := base + "/queue/item/1/"; location != want {
					t.Errorf("Location = %q, want %q", location, want)
				}
				if got.body != "" {
					t.Errorf("body = %q, want empty", got.body)
				}
			}
		})
	}
}

func TestBuildLocationUsesRequestHost(t *testing.T) {
	_, base := newFixture(t, Config{})
	// A Host header set in http.Request.Header is ignored, so set the field.
	req, err := http.NewRequest(http.MethodPost, base+"/job/test/build", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "jenkins.example:8443"
	req.SetBasicAuth("admin", adminToken)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST failed: %v", err)
	}
	resp.Body.Close()

	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want %d", resp.StatusCode, http.StatusCreated)
	}
	if got, want := resp.Header.Get("Location"), "http://jenkins.example:8443/queue/item/1/"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func TestBuildMergesQueuedTrigger(t *testing.T) {
	s, base := newFixture(t, Config{})

	first := send(t, base, post("/job/test/build"))
	wantStatus(t, first, http.StatusCreated)
	s.Advance(4 * time.Second)
	second := send(t, base, post("/job/test/build"))
	wantStatus(t, second, http.StatusCreated)

	if got, want := second.header.Get("Location"), first.header.Get("Location"); got != want {
		t.Errorf("Location of retry = %q, want %q of the queued item", got, want)
	}
	if got := len(s.Queue()); got != 1 {
		t.Errorf("len(Queue()) = %d, want 1", got)
	}
	triggers := s.Triggers("test")
	if len(triggers) != 2 {
		t.Fatalf("len(Triggers) = %d, want 2", len(triggers))
	}
	if triggers[0].Merged {
		t.Errorf("Triggers[0].Merged = true, want false")
	}
	if !triggers[1].Merged {
		t.Errorf("Triggers[1].Merged = false, want true")
	}
	if got := triggers[1].QueueID; got != 1 {
		t.Errorf("Triggers[1].QueueID = %d, want 1", got)
	}

	// The merged item keeps the earlier due time, so 1 s more starts it.
	s.Advance(time.Second)
	if got := len(s.Builds("test")); got != 1 {
		t.Fatalf("len(Builds) = %d, want 1", got)
	}

	third := send(t, base, post("/job/test/build"))
	wantStatus(t, third, http.StatusCreated)
	if got, want := third.header.Get("Location"), base+"/queue/item/2/"; got != want {
		t.Errorf("Location after build started = %q, want %q", got, want)
	}
}

func TestBuildWithParametersMerge(t *testing.T) {
	tests := []struct {
		name       string
		version    string
		secondPath string
		wantStatus int
		wantItem   string
	}{
		{
			name:       "same values",
			secondPath: "/job/param/buildWithParameters?BRANCH=dev",
			wantStatus: http.StatusSeeOther,
			wantItem:   "/queue/item/1/",
		},
		{
			name:       "same values after defaults",
			secondPath: "/job/param/buildWithParameters?BRANCH=dev&EVENT_ID=&UNDECLARED=x",
			wantStatus: http.StatusSeeOther,
			wantItem:   "/queue/item/1/",
		},
		{
			name:       "unique event id",
			secondPath: "/job/param/buildWithParameters?BRANCH=dev&EVENT_ID=e2",
			wantStatus: http.StatusCreated,
			wantItem:   "/queue/item/2/",
		},
		{
			name:       "before 2.308",
			version:    "2.307",
			secondPath: "/job/param/buildWithParameters?BRANCH=dev",
			wantStatus: http.StatusCreated,
			wantItem:   "/queue/item/1/",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, base := newFixture(t, Config{Version: test.version})
			first := send(t, base, post("/job/param/buildWithParameters?BRANCH=dev"))
			wantStatus(t, first, http.StatusCreated)

			second := send(t, base, post(test.secondPath))
			if second.status != test.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", second.status, test.wantStatus, second.body)
			}
			if got, want := second.header.Get("Location"), base+test.wantItem; got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
		})
	}
}

func TestBuildWithParametersNotParameterizedBefore2524(t *testing.T) {
	_, base := newFixture(t, Config{Version: "2.523"})
	got := send(t, base, post("/job/test/buildWithParameters"))
	wantStatus(t, got, http.StatusInternalServerError)
}

func TestBuildWithParametersValueSources(t *testing.T) {
	multipartBody := &bytes.Buffer{}
	writer := multipart.NewWriter(multipartBody)
	if err := writer.WriteField("BRANCH", "multipart"); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		call       call
		wantBranch string
	}{
		{
			name:       "query string",
			call:       post("/job/param/buildWithParameters?BRANCH=query"),
			wantBranch: "query",
		},
		{
			name:       "urlencoded body",
			call:       postForm("/job/param/buildWithParameters", "BRANCH=form"),
			wantBranch: "form",
		},
		{
			name: "multipart body",
			call: call{
				method: http.MethodPost, path: "/job/param/buildWithParameters",
				user: "admin", secret: adminToken,
				contentType: writer.FormDataContentType(), body: multipartBody.String(),
			},
			wantBranch: "multipart",
		},
		{
			name:       "missing takes default",
			call:       post("/job/param/buildWithParameters?OTHER=x"),
			wantBranch: "main",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			s, base := newFixture(t, Config{})
			wantStatus(t, send(t, base, test.call), http.StatusCreated)

			triggers := s.Triggers("param")
			if len(triggers) != 1 {
				t.Fatalf("len(Triggers) = %d, want 1", len(triggers))
			}
			params := triggers[0].Params
			if got := params["BRANCH"]; got != test.wantBranch {
				t.Errorf("BRANCH = %q, want %q", got, test.wantBranch)
			}
			if got, ok := params["EVENT_ID"]; !ok || got != "" {
				t.Errorf("EVENT_ID = %q (present %t), want empty default", got, ok)
			}
			if _, ok := params["OTHER"]; ok {
				t.Errorf("undeclared parameter OTHER was kept, want it dropped")
			}
		})
	}
}

func TestBuildJSONParameterForms(t *testing.T) {
	tests := []struct {
		name       string
		json       string
		wantBranch string
	}{
		{name: "array", json: `{"parameter":[{"name":"BRANCH","value":"dev"}]}`, wantBranch: "dev"},
		{name: "single object", json: `{"parameter":{"name":"BRANCH","value":"one"}}`, wantBranch: "one"},
		{name: "no parameter", json: `{}`, wantBranch: "main"},
		{name: "number value", json: `{"parameter":[{"name":"BRANCH","value":42}]}`, wantBranch: "42"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			s, base := newFixture(t, Config{})
			c := postForm("/job/param/build", "json="+url.QueryEscape(test.json))
			wantStatus(t, send(t, base, c), http.StatusCreated)

			triggers := s.Triggers("param")
			if len(triggers) != 1 {
				t.Fatalf("len(Triggers) = %d, want 1", len(triggers))
			}
			if got := triggers[0].Params["BRANCH"]; got != test.wantBranch {
				t.Errorf("BRANCH = %q, want %q", got, test.wantBranch)
			}
		})
	}
}

func TestTriggerDelay(t *testing.T) {
	tests := []struct {
		name        string
		config      Config
		job         Job
		query       string
		wantWaiting time.Duration
	}{
		{name: "default quiet period", query: "", wantWaiting: 5 * time.Second},
		{name: "delay in seconds", query: "?delay=10sec", wantWaiting: 10 * time.Second},
		{name: "delay in secs", query: "?delay=3secs", wantWaiting: 3 * time.Second},
		{name: "bare delay is milliseconds", query: "?delay=10", wantWaiting: 10 * time.Millisecond},
		{name: "negative delay", query: "?delay=-5", wantWaiting: 0},
		{name: "job quiet period", job: Job{QuietPeriod: 30 * time.Second}, wantWaiting: 30 * time.Second},
		{name: "no quiet period", job: Job{QuietPeriod: NoQuietPeriod}, wantWaiting: 0},
		{name: "server quiet period", config: Config{QuietPeriod: time.Minute}, wantWaiting: time.Minute},
		{name: "delay overrides job", job: Job{QuietPeriod: time.Minute}, query: "?delay=1sec", wantWaiting: time.Second},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			s, base := newFixture(t, test.config)
			s.AddJob("timed", test.job)
			wantStatus(t, send(t, base, post("/job/timed/build"+test.query)), http.StatusCreated)

			item, ok := s.QueueItem(1)
			if !ok {
				t.Fatalf("QueueItem(1) not found")
			}
			if got := item.Due.Sub(item.InQueueSince); got != test.wantWaiting {
				t.Errorf("due - inQueueSince = %v, want %v", got, test.wantWaiting)
			}
		})
	}
}

func TestParseDelay(t *testing.T) {
	tests := []struct {
		text    string
		want    time.Duration
		wantErr bool
	}{
		{text: "10sec", want: 10 * time.Second},
		{text: "10secs", want: 10 * time.Second},
		{text: " 7 sec ", want: 7 * time.Second},
		{text: "10", want: 10 * time.Millisecond},
		{text: "0", want: 0},
		{text: "-1sec", want: 0},
		{text: "", wantErr: true},
		{text: "10s", wantErr: true},
		{text: "sec", wantErr: true},
		{text: "99999999999999sec", wantErr: true},
	}
	for _, test := range tests {
		got, err := parseDelay(test.text)
		if (err != nil) != test.wantErr {
			t.Errorf("parseDelay(%q) error = %v, want error %t", test.text, err, test.wantErr)
			continue
		}
		if got != test.want {
			t.Errorf("parseDelay(%q) = %v, want %v", test.text, got, test.want)
		}
	}
}
