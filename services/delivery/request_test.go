package delivery

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/auth"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

func TestMergeBody(t *testing.T) {
	params := []*v1.Parameter{
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_BODY, Key: "k", Value: "conn"},
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "h", Value: "x"},
	}
	tests := []struct {
		name        string
		body        string
		contentType string
		want        string
	}{
		{"object", `{"a":1,"k":"target"}`, "application/json", `{"a":1,"k":"conn"}`},
		{"empty", ``, "application/json", `{"k":"conn"}`},
		{"json suffix", `{}`, "application/cloudevents+json; charset=utf-8", `{"k":"conn"}`},
		{"array untouched", `[1]`, "application/json", `[1]`},
		{"null untouched", `null`, "application/json", `null`},
		{"invalid untouched", `{`, "application/json", `{`},
		{"form untouched", `a=1`, "application/x-www-form-urlencoded", `a=1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(mergeBody([]byte(tt.body), tt.contentType, params))
			if got != tt.want {
				t.Errorf("mergeBody(%q, %q) = %q, want %q", tt.body, tt.contentType, got, tt.want)
			}
		})
	}
}

func TestBuildRequestAPIKey(t *testing.T) {
	task := &internalv1.DeliveryTask{Request: &internalv1.RenderedRequest{
		Headers: []*internalv1.Header{{Name: "X-Api-Key", Value: "from-target"}},
	}}
	r := &internalv1.ResolvedDestination{
		ApiDestination: &v1.ApiDestination{Name: "d", Url: "https://h/hook", Method: "PUT"},
		Connection: &v1.Connection{Name: "c", Authorization: &v1.Connection_ApiKey{
			ApiKey: &v1.ApiKeyAuth{HeaderName: "X-Api-Key", Value: "k3y"},
		}},
	}
	req, err := buildRequest(context.Background(), task, r, "switchyard/test")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.Apply(req.Header, r.GetConnection()); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Api-Key"); got != "k3y" {
		t.Errorf("X-Api-Key = %q, want the connection's k3y", got)
	}
	if req.Method != http.MethodPut {
		t.Errorf("method = %q, want PUT", req.Method)
	}
	if got := req.Header.Get("Content-Type"); got != "" {
		t.Errorf("Content-Type = %q for an empty body, want none", got)
	}
	body, _ := io.ReadAll(req.Body)
	if len(body) != 0 {
		t.Errorf("body = %q, want empty", body)
	}
}

func TestBuildRequestMissingPathValue(t *testing.T) {
	task := &internalv1.DeliveryTask{Request: &internalv1.RenderedRequest{}}
	r := &internalv1.ResolvedDestination{
		ApiDestination: &v1.ApiDestination{Url: "https://h/*"},
		Connection:     &v1.Connection{},
	}
	_, err := buildRequest(context.Background(), task, r, "ua")
	if !errors.Is(err, retry.ErrConfig) {
		t.Errorf("buildRequest() = %v, want an error wrapping retry.ErrConfig", err)
	}
}

func TestReadExcerpt(t *testing.T) {
	secret := "abcdefgh"
	// The secret straddles the excerpt's end, so it must be found before
	// the cut.
	body := make([]byte, excerptSize-4)
	for i := range body {
		body[i] = 'x'
	}
	body = append(body, secret...)
	got := readExcerpt(bytesReader(body), []string{secret})
	if len(got) != excerptSize {
		t.Errorf("excerpt length = %d, want %d", len(got), excerptSize)
	}
	if strings.Contains(got, "abcd") {
		t.Errorf("excerpt ends with %q, want the cut secret removed", got[len(got)-12:])
	}
}

// TestBuildRequestReplacesTargetHeaders pins the order in which
// delivery sets headers, which the config service's write checks rely
// on: Content-Type from the rendered content type, then the
// connection's header parameters, then User-Agent replace what a
// target sets.
func TestBuildRequestReplacesTargetHeaders(t *testing.T) {
	task := &internalv1.DeliveryTask{Request: &internalv1.RenderedRequest{
		Headers: []*internalv1.Header{
			{Name: "Content-Type", Value: "text/plain"},
			{Name: "User-Agent", Value: "target-agent"},
			{Name: "X-Env", Value: "target"},
		},
		ContentType: "application/json",
		Body:        []byte(`{}`),
	}}
	r := &internalv1.ResolvedDestination{
		ApiDestination: &v1.ApiDestination{Name: "d", Url: "https://h/hook"},
		Connection: &v1.Connection{Name: "c", InvocationParameters: []*v1.Parameter{
			{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "x-env", Value: "connection"},
		}},
	}
	req, err := buildRequest(context.Background(), task, r, "switchyard/test")
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want the rendered application/json", got)
	}
	if got := req.Header.Get("User-Agent"); got != "switchyard/test" {
		t.Errorf("User-Agent = %q, want delivery's", got)
	}
	if got := req.Header.Get("X-Env"); got != "connection" {
		t.Errorf("X-Env = %q, want the connection's value", got)
	}
}

// TestControlCharacterHeaderFails shows that net/http refuses a header
// value with a line break, which is why the config service rejects one
// when it is written.
func TestControlCharacterHeaderFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	task := &internalv1.DeliveryTask{Request: &internalv1.RenderedRequest{
		Headers: []*internalv1.Header{{Name: "X-A", Value: "a\r\nInjected: 1"}},
	}}
	r := &internalv1.ResolvedDestination{
		ApiDestination: &v1.ApiDestination{Name: "d", Url: srv.URL},
		Connection:     &v1.Connection{Name: "c"},
	}
	req, err := buildRequest(context.Background(), task, r, "switchyard/test")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request with a CR LF in a header value was sent, want an error")
	}
	if !strings.Contains(err.Error(), "invalid header field value") {
		t.Errorf("error = %v, want net/http's invalid header field value", err)
	}
}
