package main

import (
	"strings"
	"testing"
)

// rejectedRun is a command that the real services reject as invalid
// input: it must exit with 2 and print each of want on stderr.
type rejectedRun struct {
	name string
	args []string
	want []string
}

func runRejected(t *testing.T, c cli, tests []rejectedRun) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			r := c.run(tt.args...)
			r.wantCode(t, exitUsage)
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr = %q, want %q", r.stderr, want)
				}
			}
			// The flag replaces the field path of the request.
			for _, path := range []string{"api_destination.", "connection.", "rule.targets", "bus.name"} {
				if strings.Contains(r.stderr, path) {
					t.Errorf("stderr = %q, shows the field path %q", r.stderr, path)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestConfigRejectionNamesFlag(t *testing.T) {
	s := startDevStack(t)
	c := s.cli
	c.env = map[string]string{"TOKEN": "t0ken", "KEY": "k3y", "BAD_HEADER": "a\r\nInjected: 1"}

	c.run("connection", "create", "hook", "--auth", "basic", "--username", "u",
		"--password-env", "TOKEN", "--network", "private").wantCode(t, exitOK)
	c.run("connection", "create", "keyed", "--auth", "api_key", "--api-key-name", "X-API-Key",
		"--api-key-env", "KEY", "--network", "private").wantCode(t, exitOK)
	c.run("destination", "create", "hook", "--url", "http://127.0.0.1:9/hook",
		"--connection", "hook").wantCode(t, exitOK)
	c.run("destination", "create", "keyed", "--url", "http://127.0.0.1:9/keyed",
		"--connection", "keyed").wantCode(t, exitOK)
	c.run("connection", "create", "pub", "--auth", "basic", "--username", "u",
		"--password-env", "TOKEN").wantCode(t, exitOK)

	long := strings.Repeat("d", 513)
	pattern := `{"source":["ci"]}`
	runRejected(t, c, []rejectedRun{
		{"url with fragment", []string{"destination", "create", "d2", "--connection", "hook",
			"--url", "http://127.0.0.1:9/hook#build"},
			[]string{`error: invalid --url: the destination URL "http://127.0.0.1:9/hook#build" has the fragment "#build"`}},
		{"url with ftp", []string{"destination", "create", "d2", "--connection", "hook",
			"--url", "ftp://127.0.0.1/x"},
			[]string{"error: invalid --url: the destination URL", `scheme "ftp"`}},
		{"url on update", []string{"destination", "update", "hook", "--url", "http://127.0.0.1:9/#x"},
			[]string{"error: invalid --url:"}},
		{"loopback url on public connection", []string{"destination", "create", "d-pub",
			"--url", "http://127.0.0.1:8099/ok", "--connection", "pub"},
			[]string{"error: invalid --url: the destination URL host 127.0.0.1 is a loopback address",
				"switchyard connection update pub --network private"}},
		{"public network with loopback destination", []string{"connection", "update", "hook",
			"--network", "public"},
			[]string{`error: invalid --network: connection "hook" cannot move to the public network`,
				`API destination "hook"`, "127.0.0.1"}},
		{"destination description", []string{"destination", "create", "d2", "--connection", "hook",
			"--url", "http://127.0.0.1:9/x", "--description", long},
			[]string{"error: invalid --description: the description of the API destination has 513 characters"}},
		{"destination name", []string{"destination", "create", "d.2", "--connection", "hook",
			"--url", "http://127.0.0.1:9/x"},
			[]string{`error: invalid NAME: the destination name "d.2" is not valid`}},
		{"bus name", []string{"bus", "create", "a.b"},
			[]string{`error: invalid NAME: the bus name "a.b"`}},
		{"bus description", []string{"bus", "update", "default", "--description", long},
			[]string{"error: invalid --description: the description of the bus"}},
		{"connection Host header", []string{"connection", "create", "c2", "--auth", "basic",
			"--username", "u", "--password-env", "TOKEN", "--header", "Host=example.com"},
			[]string{`error: invalid --header: the header parameter "Host" cannot be set`,
				"put the host in the URL"}},
		{"connection secret header with CRLF", []string{"connection", "create", "c2", "--auth", "basic",
			"--username", "u", "--password-env", "TOKEN", "--query", "q=1",
			"--header-env", "X-Signing=BAD_HEADER"},
			[]string{`error: invalid --header-env: the value of the header parameter "X-Signing"`,
				"control character"}},
		{"connection Authorization header", []string{"connection", "update", "hook",
			"--header", "Authorization=Bearer x"},
			[]string{"error: invalid --header:", "basic authorization"}},
		{"api key header", []string{"connection", "create", "c2", "--auth", "api_key",
			"--api-key-name", "Connection", "--api-key-env", "KEY"},
			[]string{`error: invalid --api-key-name: the API key header "Connection" cannot be set`}},
		{"token URL fragment", []string{"connection", "create", "c2",
			"--auth", "oauth_client_credentials", "--token-url", "http://127.0.0.1:9/token#x",
			"--client-id", "id", "--client-secret-env", "TOKEN"},
			[]string{"error: invalid --token-url: the OAuth token URL"}},
		{"target Authorization header", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--target-header", "Authorization=Bearer x"},
			[]string{`error: invalid --target-header: the target header "Authorization"`,
				"use the connection's authorization"}},
		{"target Content-Type header", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--target-header", "Content-Type=text/plain"},
			[]string{"error: invalid --target-header:", "set the content type instead"}},
		{"target header of the api key", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "keyed", "--target-header", "x-api-key=mine"},
			[]string{`error: invalid --target-header: the target header "x-api-key"`,
				`connection "keyed"`, "the connection's header wins"}},
		{"target content type", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--content-type", "not a type"},
			[]string{`error: invalid --content-type: the target content type "not a type"`}},
		{"target backoff", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--backoff-base", "10m"},
			[]string{"error: invalid --backoff-base: the backoff base 10m0s"}},
		{"target max attempts", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--max-attempts", "186"},
			[]string{"error: invalid --max-attempts:"}},
		// The CLI runs the config service's rendering checks itself, so
		// this one fails before the call.
		{"target template variable", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--input-template", `{"ref": <ref>}`, "--template-var", "ref=$.data..ref"},
			[]string{`error: invalid --template-var "ref": invalid JSON path "$.data..ref"`}},
		{"rule description", []string{"rule", "create", "r2", "--pattern", pattern,
			"--target", "hook", "--description", long},
			[]string{"error: invalid --description: the description of the rule"}},
	})
}

func TestEventsPutRejectionNamesFlag(t *testing.T) {
	s := startDevStack(t)
	c := s.cli

	runRejected(t, c, []rejectedRun{
		{"empty type", []string{"events", "put", "--type", "", "--source", "s"},
			[]string{`error: invalid --type: the event has no "type" attribute`, "(MissingAttribute)"}},
		{"empty source", []string{"events", "put", "--type", "t", "--source", ""},
			[]string{`error: invalid --source: the event has no "source" attribute; set it to`,
				"(MissingAttribute)"}},
		{"source with space", []string{"events", "put", "--type", "t", "--source", "/x y"},
			[]string{`error: invalid --source: attribute "source" is "/x y", not a valid URI-reference`,
				`percent-encode it, as in "/x%20y"`, "(InvalidAttribute)"}},
		{"source unclosed IPv6 host", []string{"events", "put", "--type", "t", "--source", "http://[::1"},
			[]string{`error: invalid --source: attribute "source" is "http://[::1"`,
				"missing ']' in host", "(InvalidAttribute)"}},
		{"blank source", []string{"events", "put", "--type", "t", "--source", " "},
			[]string{"error: invalid --source:", "(MissingAttribute)"}},
		{"source from event", []string{"events", "put", "--type", "t",
			"--event", `{"specversion":"1.0","source":1}`},
			[]string{`error: invalid --event: attribute "source" is 1`}},
		{"time in event", []string{"events", "put",
			"--event", `{"specversion":"1.0","type":"t","source":"s","time":"yesterday"}`},
			[]string{`error: invalid --event: attribute "time" is "yesterday"`, "(InvalidAttribute)"}},
		{"bus name", []string{"events", "put", "--bus", "a.b", "--type", "t", "--source", "s"},
			[]string{"error: invalid --bus:", "(InvalidBusName)"}},
	})

	// events put sends structured mode only, so the note about the
	// binary-mode header that ingest adds is left out.
	for _, source := range []string{"", " "} {
		r := c.run("events", "put", "--type", "t", "--source", source)
		if strings.Contains(r.stderr, "binary mode") || strings.Contains(r.stderr, "ce-source") {
			t.Errorf("events put --source %q: stderr = %q, want no binary-mode header named",
				source, r.stderr)
		}
	}

	// A valid event still goes through.
	r := c.run("events", "put", "--type", "t", "--source", "s")
	r.wantCode(t, exitOK)
}
