package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeIngest records the requests it gets and responds to each with the
// status and body a test sets.
type fakeIngest struct {
	mu          sync.Mutex
	path        string
	contentType string
	event       map[string]any
	status      int
	body        string
}

func startIngest(t *testing.T, f *fakeIngest) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.path = r.URL.EscapedPath()
		f.contentType = r.Header.Get("Content-Type")
		f.event = nil
		if err := json.Unmarshal(data, &f.event); err != nil {
			t.Errorf("ingest got a body that is not JSON: %v\n%s", err, data)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func acceptAs(id string) *fakeIngest {
	return &fakeIngest{status: http.StatusOK,
		body: `{"failed_entry_count":0,"entries":[{"event_id":"` + id + `"}]}`}
}

func newEventsCLI(t *testing.T, ing *fakeIngest) cli {
	return cli{t: t, server: "127.0.0.1:1", ingest: startIngest(t, ing)}
}

func TestEventsPutPrintsIDAlone(t *testing.T) {
	ing := acceptAs("evt-1")
	c := newEventsCLI(t, ing)

	r := c.run("events", "put", "--bus", "ci builds", "--type", "com.github.push",
		"--source", "/repos/app", "--subject", "main", "--data", `{"ref":"refs/heads/main"}`)
	r.wantCode(t, exitOK)

	if got, want := r.stdout, "evt-1\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := ing.path, "/v1/buses/ci%20builds/events"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if got, want := ing.contentType, "application/cloudevents+json"; got != want {
		t.Errorf("content type = %q, want %q", got, want)
	}

	want := map[string]any{
		"specversion": "1.0", "type": "com.github.push", "source": "/repos/app",
		"subject": "main", "datacontenttype": "application/json",
	}
	for k, v := range want {
		if ing.event[k] != v {
			t.Errorf("event[%q] = %v, want %v", k, ing.event[k], v)
		}
	}
	data, ok := ing.event["data"].(map[string]any)
	if !ok || data["ref"] != "refs/heads/main" {
		t.Errorf("event data = %v, want the JSON object given", ing.event["data"])
	}
	if _, ok := ing.event["id"]; ok {
		t.Errorf("event id = %v, want none so the ingest service assigns one", ing.event["id"])
	}
}

func TestEventsPutFromEventFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "event.json")
	event := `{"specversion":"1.0","id":"e1","type":"old","source":"s","data":{"n":1},"x-ext":"v"}`
	if err := os.WriteFile(file, []byte(event), 0o600); err != nil {
		t.Fatal(err)
	}
	ing := acceptAs("e1")
	c := newEventsCLI(t, ing)

	r := c.run("events", "put", "--event", "@"+file, "--type", "new")
	r.wantCode(t, exitOK)

	if ing.event["type"] != "new" || ing.event["id"] != "e1" || ing.event["x-ext"] != "v" {
		t.Errorf("event = %v, want the file's attributes with type replaced", ing.event)
	}
}

func TestEventsPutDataFromStdin(t *testing.T) {
	ing := acceptAs("e2")
	c := newEventsCLI(t, ing)
	c.stdin = "plain text"

	r := c.run("events", "put", "--type", "t", "--source", "s",
		"--data", "@-", "--data-content-type", "text/plain")
	r.wantCode(t, exitOK)

	if got := ing.event["data"]; got != "plain text" {
		t.Errorf("data = %v, want the text as a string", got)
	}
	if got := ing.event["datacontenttype"]; got != "text/plain" {
		t.Errorf("datacontenttype = %v, want text/plain", got)
	}
}

func TestEventsPutRejected(t *testing.T) {
	ing := &fakeIngest{status: http.StatusBadRequest, body: `{"failed_entry_count":1,` +
		`"entries":[{"error_code":"InvalidAttribute",` +
		`"error_message":"attribute \"source\" is 1, not a JSON string"}]}`}
	c := newEventsCLI(t, ing)

	r := c.run("events", "put", "--type", "t", "--source", "s")
	r.wantCode(t, exitUsage)

	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	want := `error: invalid --source: attribute "source" is 1, not a JSON string (InvalidAttribute)`
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestEventsPutStoreFailed(t *testing.T) {
	ing := &fakeIngest{status: http.StatusInternalServerError, body: `{"failed_entry_count":1,` +
		`"entries":[{"event_id":"e1","error_code":"InternalFailure","error_message":"not stored"}]}`}
	c := newEventsCLI(t, ing)

	r := c.run("events", "put", "--type", "t", "--source", "s")
	r.wantCode(t, exitFailure)
	if want := "error: event rejected: InternalFailure: not stored"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestEventsPutJSONOutput(t *testing.T) {
	ing := acceptAs("e3")
	c := newEventsCLI(t, ing)

	r := c.run("-o", "json", "events", "put", "--type", "t", "--source", "s")
	r.wantCode(t, exitOK)

	var got ingestResponse
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if len(got.Entries) != 1 || got.Entries[0].EventID != "e3" {
		t.Errorf("entries = %+v, want e3", got.Entries)
	}
}

func TestEventsPutUnexpectedResponse(t *testing.T) {
	ing := &fakeIngest{status: http.StatusBadGateway, body: "upstream down"}
	c := newEventsCLI(t, ing)

	r := c.run("events", "put", "--type", "t", "--source", "s")
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stderr, "502 Bad Gateway: upstream down") {
		t.Errorf("stderr = %q, want the status and body", r.stderr)
	}
}

func TestEventsPutIngestDown(t *testing.T) {
	c := cli{t: t, ingest: "http://127.0.0.1:1"}

	r := c.run("events", "put", "--type", "t", "--source", "s")
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stderr, "--ingest-url is http://127.0.0.1:1") {
		t.Errorf("stderr = %q, want the ingest URL hint", r.stderr)
	}
}

func TestEventsPutInvalid(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "data.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no type", []string{"--source", "s"}, "needs --type and --source"},
		{"data not JSON", []string{"--type", "t", "--source", "s", "--data", "@" + bad},
			"invalid --data (file " + bad + "): not valid JSON"},
		{"inline data not JSON", []string{"--type", "t", "--source", "s", "--data", "{"},
			"the data content type is application/json"},
		{"event array", []string{"--event", `[{"type":"t","source":"s"}]`},
			"--event must be one JSON object, got an array"},
		{"event null", []string{"--type", "t", "--source", "s", "--event", "null"},
			"--event must be one JSON object, got null"},
		{"event string", []string{"--event", `"e"`}, "--event must be one JSON object, got a string"},
		{"event number out of range", []string{"--event",
			`{"specversion":"1.0","type":"t","source":"s","data":{"n":[1e400]}}`},
			"invalid --event: the number 1e400 at $.data.n[0] is out of the range of a 64-bit float"},
		{"data number out of range", []string{"--type", "t", "--source", "s", "--data", `{"n":1e400}`},
			"invalid --data: the number 1e400 at $.data.n is out of the range of a 64-bit float"},
		{"missing file", []string{"--type", "t", "--source", "s", "--data", "@" + dir + "/none"},
			"no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := acceptAs("x")
			c := newEventsCLI(t, ing)

			r := c.run(append([]string{"events", "put"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "Go value") {
				t.Errorf("stderr = %q names a Go type", r.stderr)
			}
			if ing.event != nil {
				t.Errorf("ingest got %v, want no request", ing.event)
			}
		})
	}
}

func TestIsJSONMediaType(t *testing.T) {
	tests := map[string]bool{
		"application/json":                true,
		"application/json; charset=utf-8": true,
		"application/cloudevents+json":    true,
		"text/json":                       true,
		"text/plain":                      false,
		"application/xml":                 false,
		"":                                false,
	}
	for in, want := range tests {
		if got := isJSONMediaType(in); got != want {
			t.Errorf("isJSONMediaType(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEventsPutBinaryData(t *testing.T) {
	file := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(file, []byte{0xff, 0x00, 0xfe}, 0o600); err != nil {
		t.Fatal(err)
	}
	ing := acceptAs("e4")
	c := newEventsCLI(t, ing)

	r := c.run("events", "put", "--type", "t", "--source", "s",
		"--data", "@"+file, "--data-content-type", "application/octet-stream")
	r.wantCode(t, exitOK)

	if got := ing.event["data_base64"]; got != "/wD+" {
		t.Errorf("data_base64 = %v, want /wD+", got)
	}
	if _, ok := ing.event["data"]; ok {
		t.Errorf("data = %v, want none beside data_base64", ing.event["data"])
	}
}
