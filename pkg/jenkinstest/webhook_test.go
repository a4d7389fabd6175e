package jenkinstest

import (
	"net/http"
	"testing"
)

// invoke returns an anonymous call of the Generic Webhook Trigger endpoint.
func invoke(query string, header map[string]string, body string) call {
	return call{method: http.MethodPost, path: "/generic-webhook-trigger/invoke" + query, header: header, body: body}
}

func TestGenericWebhookTrigger(t *testing.T) {
	payload := `{"ref":"refs/heads/main","commits":[{"id":"abc123"}]}`
	tests := []struct {
		name       string
		call       call
		wantStatus int
	}{
		{
			name:       "token in query",
			call:       invoke("?token=hook", map[string]string{"Content-Type": "application/json"}, payload),
			wantStatus: http.StatusOK,
		},
		{
			name:       "token header",
			call:       invoke("", map[string]string{"token": "hook"}, payload),
			wantStatus: http.StatusOK,
		},
		{
			name:       "bearer token",
			call:       invoke("", map[string]string{"Authorization": "Bearer hook"}, payload),
			wantStatus: http.StatusOK,
		},
		{
			name:       "unknown token",
			call:       invoke("?token=nope", nil, payload),
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "no token",
			call:       invoke("", nil, payload),
			wantStatus: http.StatusNotFound,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			// CSRF on and no anonymous read: the endpoint needs neither.
			s, base := newFixture(t, Config{CSRF: true})
			got := send(t, base, test.call)
			if got.status != test.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", got.status, test.wantStatus, got.body)
			}
			fields := decodeJSON(t, got)

			if test.wantStatus == http.StatusNotFound {
				if jobs, ok := fields["jobs"]; !ok || jobs != nil {
					t.Errorf("jobs = %v (present %t), want null", jobs, ok)
				}
				return
			}
			if got := fields["message"]; got != "Triggered jobs." {
				t.Errorf("message = %v, want Triggered jobs.", got)
			}
			jobs, _ := fields["jobs"].(map[string]any)
			job, ok := jobs["hooked"].(map[string]any)
			if !ok {
				t.Fatalf("jobs.hooked = %v, want an object", jobs["hooked"])
			}
			if got := job["triggered"]; got != true {
				t.Errorf("triggered = %v, want true", got)
			}
			if got := job["id"]; got != float64(1) {
				t.Errorf("id = %v, want 1", got)
			}
			if got := job["url"]; got != "queue/item/1/" {
				t.Errorf("url = %v, want queue/item/1/", got)
			}
			variables, _ := job["resolvedVariables"].(map[string]any)
			if got := variables["SHA"]; got != "abc123" {
				t.Errorf("resolvedVariables.SHA = %v, want abc123", got)
			}

			triggers := s.Triggers("hooked")
			if len(triggers) != 1 {
				t.Fatalf("len(Triggers) = %d, want 1", len(triggers))
			}
			if got := triggers[0].Params["REF"]; got != "refs/heads/main" {
				t.Errorf("REF = %q, want refs/heads/main", got)
			}
			if got := triggers[0].Endpoint; got != "generic-webhook-trigger/invoke" {
				t.Errorf("Endpoint = %q, want generic-webhook-trigger/invoke", got)
			}
		})
	}
}

func TestEvaluateJSONPath(t *testing.T) {
	payload := decodePayload([]byte(`{"a":{"b":[{"c":"x"},{"c":2}]},"n":null,"flag":true}`))
	tests := []struct {
		path string
		want string
	}{
		{path: "$.a.b[0].c", want: "x"},
		{path: "$.a.b[1].c", want: "2"},
		{path: "$.a.b[1]", want: `{"c":2}`},
		{path: "$.flag", want: "true"},
		{path: "$.n", want: ""},
		{path: "$.a.b[2].c", want: ""},
		{path: "$.missing", want: ""},
		{path: "a.b", want: ""},
		{path: "$.a.b[x]", want: ""},
	}
	for _, test := range tests {
		if got := evaluateJSONPath(payload, test.path); got != test.want {
			t.Errorf("evaluateJSONPath(%q) = %q, want %q", test.path, got, test.want)
		}
	}
}
