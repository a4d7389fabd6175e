package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const pushCommit = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"

// transformConfig returns a fake config service with rule build-on-push,
// whose targets build (query parameters) and notify (a JSON template)
// both call destination jenkins-build.
func transformConfig() *fakeConfig {
	build := &v1.Target{
		Id: "build", ApiDestination: "jenkins-build",
		PathValues: []string{"$.data.repository.name"},
		Headers:    map[string]string{"X-Event": "$.id"},
		Query: map[string]string{
			"BRANCH": "$.data.ref",
			"COMMIT": "$.data.head_commit.id",
		},
	}
	notify := &v1.Target{
		Id: "notify", ApiDestination: "jenkins-build",
		PathValues: []string{"$.data.repository.owner.name"},
		Input: &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{
			Paths:    map[string]string{"message": "$.data.head_commit.message"},
			Template: `{"text": "<message>", "rule": <switchyard.rule>}`,
		}}},
	}
	return &fakeConfig{
		rule: &v1.Rule{Bus: "default", Name: "build-on-push", Targets: []*v1.Target{build, notify}},
		destination: &v1.ApiDestination{
			Name: "jenkins-build", Url: "http://127.0.0.1:8080/job/*/buildWithParameters?delay=0sec",
			Method: "POST", Connection: "jenkins",
		},
		connection: &v1.Connection{Name: "jenkins", Authorization: &v1.Connection_Basic{
			Basic: &v1.BasicAuth{Username: "jenkins-bot", Password: "s3cret-token"},
		}},
	}
}

// pushEventFile writes a CloudEvent with the GitHub push payload as its
// data, and a commit message with quotes and a newline.
func pushEventFile(t *testing.T, message string) string {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/github-push-branch.json")
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["head_commit"].(map[string]any)["message"] = message
	event, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": "push-1", "source": "github",
		"type": "com.github.push", "data": payload,
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, event, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// eventWithData returns a CloudEvent with id e1 and data as JSON text.
func eventWithData(data string) string {
	return `{"specversion":"1.0","id":"e1","source":"/github","type":"com.github.push",` +
		`"time":"2026-12-04T10:00:00Z","data":` + data + `}`
}

func TestRuleTestTransformText(t *testing.T) {
	f := transformConfig()
	c := newCLI(t, f)
	message := "Fix \"quotes\"\nand </script>"

	r := c.run("rule", "test-transform", "--rule", "build-on-push",
		"--event", "@"+pushEventFile(t, message))
	r.wantCode(t, exitOK)

	wantURL := "POST http://127.0.0.1:8080/job/hello-world/buildWithParameters?" +
		"BRANCH=refs%2Fheads%2Fmain&COMMIT=" + pushCommit + "&delay=0sec\n"
	wantBody, err := json.Marshal(map[string]string{"text": message, "rule": "build-on-push"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# target build: api destination jenkins-build, connection jenkins",
		wantURL,
		"X-Event: push-1\n",
		"# target notify:",
		"POST http://127.0.0.1:8080/job/example-org/buildWithParameters?delay=0sec\n",
		"Content-Type: application/json\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, r.stdout)
		}
	}

	_, notify, _ := strings.Cut(r.stdout, "# target notify:")
	_, body, _ := strings.Cut(notify, "\n\n")
	var got, want map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("notify body %q: %v", body, err)
	}
	if err := json.Unmarshal(wantBody, &want); err != nil {
		t.Fatal(err)
	}
	if got["text"] != want["text"] || got["rule"] != want["rule"] {
		t.Errorf("notify body = %v, want %v", got, want)
	}
	if strings.Contains(r.stdout, "s3cret") || strings.Contains(r.stdout, "jenkins-bot") {
		t.Errorf("stdout shows the connection's credentials:\n%s", r.stdout)
	}
}

func TestRuleTestTransformJSON(t *testing.T) {
	f := transformConfig()
	c := newCLI(t, f)

	r := c.run("rule", "test-transform", "--rule", "build-on-push", "--target", "build",
		"--event", "@"+pushEventFile(t, "m"), "-o", "json")
	r.wantCode(t, exitOK)

	var out struct {
		Requests []requestPreview
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if len(out.Requests) != 1 {
		t.Fatalf("got %d requests, want 1 for --target build", len(out.Requests))
	}
	got := out.Requests[0]
	if got.Target != "build" || got.APIDestination != "jenkins-build" || got.Connection != "jenkins" {
		t.Errorf("target, destination, connection = %q, %q, %q; want build, jenkins-build, jenkins",
			got.Target, got.APIDestination, got.Connection)
	}
	u, err := url.Parse(got.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Query().Get("BRANCH"), "refs/heads/main"; got != want {
		t.Errorf("URL BRANCH = %q, want %q", got, want)
	}
	wantQuery := []namedValue{{"BRANCH", "refs/heads/main"}, {"COMMIT", pushCommit}}
	if len(got.Query) != 2 || got.Query[0] != wantQuery[0] || got.Query[1] != wantQuery[1] {
		t.Errorf("query = %v, want %v", got.Query, wantQuery)
	}
	if got.ContentType != "application/json" {
		t.Errorf("content type = %q, want application/json", got.ContentType)
	}
	if !strings.Contains(got.Body, `"id":"push-1"`) {
		t.Errorf("body = %.80q, want the whole event", got.Body)
	}
}

// TestRuleTestTransformEscapesPathValues shows that a path value with a
// slash or space stays one URL path segment.
func TestRuleTestTransformEscapesPathValues(t *testing.T) {
	f := transformConfig()
	c := newCLI(t, f)
	event := eventWithData(`{"repository": {"name": "a/b c?"}}`)

	r := c.run("rule", "test-transform", "--rule", "build-on-push", "--target", "build",
		"--event", event)
	r.wantCode(t, exitOK)
	// BRANCH and COMMIT match nothing in this event, so they are left out.
	want := "POST http://127.0.0.1:8080/job/a%2Fb%20c%3F/buildWithParameters?delay=0sec\n"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("stdout does not contain %q:\n%s", want, r.stdout)
	}
}

func TestRuleTestTransformErrors(t *testing.T) {
	// The path values match, so each case fails for its own reason.
	event := eventWithData(`{"repository": {"name": "app", "owner": {"name": "org"}}}`)
	unknownVariable := func(f *fakeConfig) {
		f.rule.Targets[1].Input.GetTemplate().Template = `{"a": "<nope>"}`
	}
	tests := []struct {
		name   string
		args   []string
		change func(f *fakeConfig)
		code   int
		want   string
	}{
		{
			name: "missing rule",
			args: []string{"--event", event},
			code: exitUsage,
			want: "needs --rule and --event",
		},
		{
			name: "event not JSON",
			args: []string{"--rule", "build-on-push", "--event", "{"},
			code: exitUsage,
			want: "not valid JSON",
		},
		{
			name: "event not an object",
			args: []string{"--rule", "build-on-push", "--event", `["x"]`},
			code: exitUsage,
			want: "ingest would reject it: MalformedEvent: the event is a JSON array, not an object",
		},
		{
			name: "unknown rule",
			args: []string{"--rule", "nope", "--event", event},
			code: exitFailure,
			want: "rule default/nope not found",
		},
		{
			name: "rule on another bus",
			args: []string{"--rule", "build-on-push", "--bus", "other", "--event", event},
			code: exitFailure,
			want: "not found",
		},
		{
			name: "unknown target",
			args: []string{"--rule", "build-on-push", "--target", "deploy", "--event", event},
			code: exitFailure,
			want: "its targets are build,notify",
		},
		{
			name:   "target that cannot render",
			args:   []string{"--rule", "build-on-push", "--event", event},
			change: unknownVariable,
			code:   exitFailure,
			want:   "target notify: input.template: unknown variable <nope>",
		},
		{
			name: "path value that matches nothing",
			args: []string{"--rule", "build-on-push", "--event", eventWithData(`{}`)},
			code: exitFailure,
			want: "target build: path value 1 ($.data.repository.name) is empty, " +
				"because the JSON path matched nothing",
		},
		{
			name:   "missing destination",
			args:   []string{"--rule", "build-on-push", "--event", event},
			change: func(f *fakeConfig) { f.destination.Name = "other" },
			code:   exitFailure,
			want:   "target build: destination jenkins-build not found",
		},
		{
			name: "path values that do not fit the URL",
			args: []string{"--rule", "build-on-push", "--event", event},
			change: func(f *fakeConfig) {
				f.rule.Targets[0].PathValues = append(f.rule.Targets[0].PathValues, "x")
			},
			code: exitFailure,
			want: "got 2 path values for 1 * segments of the URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := transformConfig()
			if tt.change != nil {
				tt.change(f)
			}
			c := newCLI(t, f)

			r := c.run(append([]string{"rule", "test-transform"}, tt.args...)...)
			r.wantCode(t, tt.code)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.want)
			}
		})
	}
}

func TestRuleTestTransformDotSegment(t *testing.T) {
	c := newCLI(t, transformConfig())
	event := `{"specversion":"1.0","id":"e","source":"s","type":"t",` +
		`"data":{"repository":{"name":".."},"ref":"r","head_commit":{"id":"c"}}}`

	r := c.run("rule", "test-transform", "--rule", "build-on-push", "--target", "build",
		"--event", event)
	r.wantCode(t, exitFailure)
	want := `target build: path value 1 ($.data.repository.name) is "..", a dot segment ` +
		"that would change the URL path; send events with another value there"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want %q, the error the rule engine gives", r.stderr, want)
	}
}

func TestRuleTestTransformNoteAfterRuleFound(t *testing.T) {
	event := `{"specversion":"1.0","source":"/github","type":"com.github.push",` +
		`"data":{"repository":{"name":"app","owner":{"name":"org"}}}}`
	c := newCLI(t, transformConfig())

	r := c.run("rule", "test-transform", "--rule", "nope", "--event", event)
	r.wantCode(t, exitFailure)
	if !strings.HasPrefix(r.stderr, "error: ") {
		t.Errorf("stderr = %q, want only the not-found error", r.stderr)
	}
	if strings.Contains(r.stderr, "filled the missing") {
		t.Errorf("stderr = %q, want no note about the event of a rule that is not found", r.stderr)
	}

	r = c.run("rule", "test-transform", "--rule", "build-on-push", "--event", event)
	r.wantCode(t, exitOK)
	if !strings.HasPrefix(r.stderr, "filled the missing id and time as ingest does: id ") {
		t.Errorf("stderr = %q, want the note on the filled id and time", r.stderr)
	}
}
