package render

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/switchyard-dev/switchyard/pkg/jenkinstest"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Values of testdata/github-push-branch.json.
const (
	pushRepository = "hello-world"
	pushRef        = "refs/heads/main"
	pushCommit     = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
)

// TestJenkinsReceivesParameters renders targets that start a Jenkins
// build from a GitHub push, sends each request as delivery does, and
// checks the parameters that Jenkins recorded.
func TestJenkinsReceivesParameters(t *testing.T) {
	jenkins := jenkinstest.New(jenkinstest.Config{CSRF: true, QuietPeriod: -1})
	jenkins.AddUser("ci", jenkinstest.User{APITokens: []string{"11aa22bb"}})
	jenkins.AddJob(pushRepository, jenkinstest.Job{Params: []jenkinstest.Param{
		{Name: "BRANCH"}, {Name: "COMMIT"}, {Name: "RULE", Default: "none"},
	}})
	base := jenkins.Start(t)
	event := pushEvent(t)

	tests := []struct {
		name     string
		url      string
		target   *v1.Target
		wantRule string
	}{
		{
			name: "query parameters",
			url:  base + "/job/*/buildWithParameters",
			target: &v1.Target{
				PathValues: []string{"$.data.repository.name"},
				Query: map[string]string{
					"BRANCH": "$.data.ref",
					"COMMIT": "$.data['head_commit'].id",
				},
			},
			wantRule: "none",
		},
		{
			name: "form body",
			url:  base + "/job/*/buildWithParameters",
			target: &v1.Target{
				PathValues: []string{"$.data.repository.name"},
				Input: formInput(map[string]string{
					"BRANCH": "$.data.ref",
					"COMMIT": "$.data.commits[0].id",
					"RULE":   "push & build",
				}),
			},
			wantRule: "push & build",
		},
		{
			name: "form template",
			url:  base + "/job/*/buildWithParameters",
			target: &v1.Target{
				PathValues:  []string{"$.data.repository.name"},
				ContentType: ContentTypeForm,
				Input: templateInput(map[string]string{
					"ref":    "$.data.ref",
					"commit": "$.data.after",
				}, "BRANCH=<ref>&COMMIT=<commit>&RULE=<switchyard.rule>"),
			},
			wantRule: "build-on-push",
		},
		{
			name: "build with json field",
			url:  base + "/job/" + pushRepository + "/build",
			target: &v1.Target{
				Input: formInput(map[string]string{"json": `{"parameter": [` +
					`{"name": "BRANCH", "value": "` + pushRef + `"}, ` +
					`{"name": "COMMIT", "value": "` + pushCommit + `"}]}`}),
			},
			wantRule: "none",
		},
		{
			name: "build with json field from the event",
			url:  base + "/job/" + pushRepository + "/build",
			target: &v1.Target{
				Input: &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{
					JsonFields: map[string]*v1.InputTemplate{"json": {
						Paths: map[string]string{"ref": "$.data.ref", "commit": "$.data.after"},
						Template: `{"parameter": [{"name": "BRANCH", "value": "<ref>"}, ` +
							`{"name": "COMMIT", "value": "<commit>"}, ` +
							`{"name": "RULE", "value": "<switchyard.rule>"}]}`,
					}},
				}}},
			},
			wantRule: "build-on-push",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateTarget(tt.target); err != nil {
				t.Fatalf("ValidateTarget: %v", err)
			}
			rendered, err := Request(event, Meta{Rule: "build-on-push"}, tt.target)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			before := len(jenkins.Triggers(pushRepository))
			sendLikeDelivery(t, tt.url, rendered)

			triggers := jenkins.Triggers(pushRepository)
			if len(triggers) != before+1 {
				t.Fatalf("Jenkins has %d triggers, want %d", len(triggers), before+1)
			}
			got := triggers[len(triggers)-1]
			want := map[string]string{"BRANCH": pushRef, "COMMIT": pushCommit, "RULE": tt.wantRule}
			for name, value := range want {
				if got.Params[name] != value {
					t.Errorf("parameter %s = %q, want %q", name, got.Params[name], value)
				}
			}
			if got.User != "ci" {
				t.Errorf("user = %q, want ci", got.User)
			}
		})
	}
}

// pushEvent returns a CloudEvent whose data is the GitHub push payload.
func pushEvent(t *testing.T) []byte {
	t.Helper()
	payload, err := os.ReadFile("../../testdata/github-push-branch.json")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"specversion": "1.0", "id": "push-1", "source": "github",` +
		` "type": "com.github.push", "datacontenttype": "application/json",` +
		` "data": ` + string(payload) + `}`)
}

// sendLikeDelivery builds the HTTP request as delivery does: each "*"
// path segment replaced by an escaped path value, query parameters
// added, the body with its content type, and Basic authentication with
// an API token. It fails the test unless the status is 201.
func sendLikeDelivery(t *testing.T, rawURL string, r *internalv1.RenderedRequest) {
	t.Helper()
	segments := strings.Split(rawURL, "/")
	next := 0
	for i, s := range segments {
		if s == "*" {
			segments[i] = url.PathEscape(r.GetPathValues()[next])
			next++
		}
	}
	u, err := url.Parse(strings.Join(segments, "/"))
	if err != nil {
		t.Fatal(err)
	}
	query := u.Query()
	for _, q := range r.GetQuery() {
		query.Set(q.GetName(), q.GetValue())
	}
	u.RawQuery = query.Encode()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u.String(),
		bytes.NewReader(r.GetBody()))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.GetHeaders() {
		req.Header.Set(h.GetName(), h.GetValue())
	}
	req.Header.Set("Content-Type", r.GetContentType())
	req.SetBasicAuth("ci", "11aa22bb")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: status %d, want 201", u.Redacted(), resp.StatusCode)
	}
}

func TestFormJSONFieldEscapesHostileValue(t *testing.T) {
	hostile := "a\"b\\c\nd&e=f+g%h</script>"
	event, err := json.Marshal(map[string]any{"data": map[string]any{"ref": hostile}})
	if err != nil {
		t.Fatal(err)
	}
	target := &v1.Target{Input: &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{
		JsonFields: map[string]*v1.InputTemplate{"json": {
			Paths:    map[string]string{"ref": "$.data.ref"},
			Template: `{"parameter": [{"name": "BRANCH", "value": "<ref>"}]}`,
		}},
	}}}}
	if err := ValidateTarget(target); err != nil {
		t.Fatalf("ValidateTarget: %v", err)
	}
	r, err := Request(event, Meta{}, target)
	if err != nil {
		t.Fatal(err)
	}

	form, err := url.ParseQuery(string(r.GetBody()))
	if err != nil {
		t.Fatalf("body is not a form: %v", err)
	}
	var got struct {
		Parameter []struct{ Value string } `json:"parameter"`
	}
	if err := json.Unmarshal([]byte(form.Get("json")), &got); err != nil {
		t.Fatalf("json field is not JSON: %v", err)
	}
	if len(got.Parameter) != 1 || got.Parameter[0].Value != hostile {
		t.Errorf("json field parameters = %+v, want the value %q", got.Parameter, hostile)
	}
}

func TestFormJSONFieldUnknownVariable(t *testing.T) {
	target := &v1.Target{Input: &v1.Input{Kind: &v1.Input_Form{Form: &v1.FormBody{
		JsonFields: map[string]*v1.InputTemplate{"json": {Template: `{"a": "<nope>"}`}},
	}}}}
	err := ValidateTarget(target)
	if err == nil || !strings.Contains(err.Error(), `input.form.json_fields["json"]`) {
		t.Errorf("ValidateTarget = %v, want an error naming the json field", err)
	}
}
