package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestDestinationCreate(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("destination", "create", "build", "--url", "http://127.0.0.1:8080/job/*/build",
		"--connection", "jenkins", "--timeout", "7s", "--rate-limit", "10", "--max-concurrency", "4")
	r.wantCode(t, exitOK)

	d := last[*v1.CreateApiDestinationRequest](t, f).GetApiDestination()
	if d.GetUrl() != "http://127.0.0.1:8080/job/*/build" || d.GetConnection() != "jenkins" {
		t.Errorf("destination = %v, want the URL and connection given", d)
	}
	if got := d.GetMethod(); got != "POST" {
		t.Errorf("method = %q, want the default POST", got)
	}
	if got := d.GetTimeout().AsDuration(); got != 7*time.Second {
		t.Errorf("timeout = %s, want 7s", got)
	}
	if d.GetInvocationRateLimitPerSecond() != 10 || d.GetMaxConcurrency() != 4 {
		t.Errorf("rate limit, concurrency = %d, %d; want 10, 4",
			d.GetInvocationRateLimitPerSecond(), d.GetMaxConcurrency())
	}
	if !strings.Contains(r.stdout, "7s") {
		t.Errorf("stdout = %q, want the timeout", r.stdout)
	}
}

func TestDestinationCreateDefaults(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("destination", "create", "hook", "--url", "http://127.0.0.1:9/x",
		"--connection", "c", "--method", "put")
	r.wantCode(t, exitOK)

	d := last[*v1.CreateApiDestinationRequest](t, f).GetApiDestination()
	if d.GetTimeout() != nil || d.GetInvocationRateLimitPerSecond() != 0 {
		t.Errorf("timeout, rate limit = %v, %d; want unset so the service defaults apply",
			d.GetTimeout(), d.GetInvocationRateLimitPerSecond())
	}
	if got := d.GetMethod(); got != "PUT" {
		t.Errorf("method = %q, want PUT", got)
	}
	for _, want := range []string{"5s (default)", "300/s (default)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
}

func TestDestinationCreateInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"--connection", "c"}, "needs --url and --connection"},
		{"no connection", []string{"--url", "http://127.0.0.1/"}, "needs --url and --connection"},
		{"timeout too long", []string{"--url", "u", "--connection", "c", "--timeout", "2m"}, "want 1s to 60s"},
		{"bad rate limit", []string{"--url", "u", "--connection", "c", "--rate-limit", "0"}, "positive"},
		{"bad duration", []string{"--url", "u", "--connection", "c", "--timeout", "five"}, "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)

			r := c.run(append([]string{"destination", "create", "d"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
		})
	}
}

func TestDestinationUpdateChangesOnlyGivenFlags(t *testing.T) {
	f := &fakeConfig{destination: &v1.ApiDestination{
		Name: "build", Url: "http://127.0.0.1/a", Method: "POST", Connection: "jenkins",
		Timeout: durationpb.New(3 * time.Second), Revision: 5,
	}}
	c := newCLI(t, f)

	r := c.run("destination", "update", "build", "--url", "http://127.0.0.1/b")
	r.wantCode(t, exitOK)

	d := last[*v1.UpdateApiDestinationRequest](t, f).GetApiDestination()
	if d.GetUrl() != "http://127.0.0.1/b" {
		t.Errorf("url = %q, want the new one", d.GetUrl())
	}
	if d.GetRevision() != 5 || d.GetConnection() != "jenkins" || d.GetTimeout().AsDuration() != 3*time.Second {
		t.Errorf("destination = %v, want revision, connection and timeout kept", d)
	}
}

func TestDestinationGetNotFound(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("destination", "get", "nope")
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stderr, "error: destination nope not found") {
		t.Errorf("stderr = %q, want the not found message", r.stderr)
	}
}
