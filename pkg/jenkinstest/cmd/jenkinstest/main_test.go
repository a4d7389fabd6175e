package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	opts, err := parseFlags(nil)
	if err != nil {
		t.Fatalf("parseFlags(nil) error = %v, want nil", err)
	}
	if opts.addr != "127.0.0.1:8080" {
		t.Errorf("addr = %q, want 127.0.0.1:8080", opts.addr)
	}
	if opts.user != "admin" {
		t.Errorf("user = %q, want admin", opts.user)
	}
	if !slices.Equal(opts.jobs, []string{"test"}) {
		t.Errorf("jobs = %q, want [test]", opts.jobs)
	}
	if opts.csrf {
		t.Errorf("csrf = true, want false")
	}
}

func TestParseFlagsRepeatedJob(t *testing.T) {
	opts, err := parseFlags([]string{"--job", "a", "--job", "team/b", "--csrf"})
	if err != nil {
		t.Fatalf("parseFlags error = %v, want nil", err)
	}
	if !slices.Equal(opts.jobs, []string{"a", "team/b"}) {
		t.Errorf("jobs = %q, want [a team/b]", opts.jobs)
	}
	if !opts.csrf {
		t.Errorf("csrf = false, want true")
	}
}

func TestParseFlagsInvalid(t *testing.T) {
	for _, args := range [][]string{{"--job", ""}, {"extra"}, {"--build-duration", "0s"}, {"--no-such-flag"}} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) error = nil, want an error", args)
		}
	}
}

func TestNewServerNeedsCredentials(t *testing.T) {
	t.Setenv("JENKINSTEST_TEST_PASSWORD", "")
	opts := options{user: "admin", passwordEnv: "JENKINSTEST_TEST_PASSWORD", tokenEnv: "", jobs: []string{"test"}}
	if _, err := newServer(opts); err == nil {
		t.Errorf("newServer without credentials error = nil, want an error")
	}

	opts.jobs = []string{"team//test"}
	t.Setenv("JENKINSTEST_TEST_PASSWORD", "pw")
	if _, err := newServer(opts); err == nil {
		t.Errorf("newServer with job %q error = nil, want an error", opts.jobs[0])
	}
}

func TestServedJobAcceptsToken(t *testing.T) {
	t.Setenv("JENKINSTEST_TEST_TOKEN", "secret-token")
	opts := options{user: "admin", tokenEnv: "JENKINSTEST_TEST_TOKEN", jobs: []string{"team/test"},
		csrf: true, buildDuration: time.Second}
	server, err := newServer(opts)
	if err != nil {
		t.Fatalf("newServer error = %v, want nil", err)
	}

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	httpServer := httptest.NewServer(logRequests(server, logger))
	defer httpServer.Close()

	req, err := http.NewRequest(http.MethodPost, httpServer.URL+"/job/team/job/test/build?token=query-secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "secret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201", resp.StatusCode)
	}

	logged := logs.String()
	for _, want := range []string{"method=POST", "path=/job/team/job/test/build", "status=201"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log %q does not contain %q", logged, want)
		}
	}
	for _, secret := range []string{"secret-token", "query-secret", "Basic"} {
		if strings.Contains(logged, secret) {
			t.Errorf("log %q contains the secret %q", logged, secret)
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Setenv("JENKINSTEST_TEST_TOKEN", "secret-token")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--token-env", "JENKINSTEST_TEST_TOKEN"}, logger)
	}()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run error = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of cancel")
	}
}

func TestRunRejectsBadAddress(t *testing.T) {
	t.Setenv("JENKINSTEST_TEST_TOKEN", "secret-token")
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	err := run(context.Background(), []string{"--addr", "127.0.0.1:notaport", "--token-env", "JENKINSTEST_TEST_TOKEN"}, logger)
	if err == nil {
		t.Errorf("run with an invalid address error = nil, want an error")
	}
}

func TestServedJobWithParameters(t *testing.T) {
	t.Setenv("JENKINSTEST_TEST_TOKEN", "secret-token")
	opts := options{user: "admin", tokenEnv: "JENKINSTEST_TEST_TOKEN",
		jobs: []string{"hello-world:BRANCH,COMMIT"}, buildDuration: time.Second}
	server, err := newServer(opts)
	if err != nil {
		t.Fatalf("newServer error = %v, want nil", err)
	}
	httpServer := httptest.NewServer(server)
	defer httpServer.Close()

	req, err := http.NewRequest(http.MethodPost,
		httpServer.URL+"/job/hello-world/buildWithParameters?BRANCH=main&COMMIT=abc", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "secret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201 from a job declared with parameters", resp.StatusCode)
	}
	triggers := server.Triggers("hello-world")
	if len(triggers) != 1 || triggers[0].Params["BRANCH"] != "main" {
		t.Errorf("triggers = %+v, want one with BRANCH=main", triggers)
	}
}
