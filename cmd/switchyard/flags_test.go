package main

import (
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestParseKeyValue(t *testing.T) {
	tests := []struct {
		in, key, value, err string
	}{
		{in: "X-Foo=bar", key: "X-Foo", value: "bar"},
		{in: "a=b=c", key: "a", value: "b=c"},
		{in: "empty=", key: "empty", value: ""},
		{in: "noequals", err: `invalid --header "noequals": missing "="; want NAME=VALUE`},
		{in: "=value", err: `invalid --header "=value": missing NAME before "="; want NAME=VALUE`},
		{in: " =value", err: "missing NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			key, value, err := parseKeyValue("header", tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("parseKeyValue(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseKeyValue(%q) error = %v", tt.in, err)
			}
			if key != tt.key || value != tt.value {
				t.Errorf("parseKeyValue(%q) = %q, %q; want %q, %q", tt.in, key, value, tt.key, tt.value)
			}
		})
	}
}

// FuzzParseKeyValue checks that a parsed pair puts back together into the
// input and that its name is never blank.
func FuzzParseKeyValue(f *testing.F) {
	for _, seed := range []string{"a=b", "=b", "a", "a==", " = ", "k=v=w", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, value, err := parseKeyValue("header", in)
		if err != nil {
			return
		}
		if strings.TrimSpace(key) == "" {
			t.Errorf("parseKeyValue(%q) key = %q, want a name", in, key)
		}
		if got := key + "=" + value; got != in {
			t.Errorf("parseKeyValue(%q) = %q, %q; joined %q", in, key, value, got)
		}
	})
}

func TestGlobalFlagsOverrideEnvironment(t *testing.T) {
	f := &fakeConfig{bus: &v1.Bus{Name: "default"}}
	addr := startConfig(t, f)
	c := cli{t: t, server: "127.0.0.1:1"}

	r := c.run("--server", addr, "bus", "get", "default")
	r.wantCode(t, exitOK)
}

func TestGlobalAddressesCheckedBeforeCall(t *testing.T) {
	tests := []struct {
		name   string
		server string
		ingest string
		args   []string
		want   string
	}{
		{"server without port", "nonsense", "", []string{"bus", "list"},
			`error: invalid --server "nonsense" (env SWITCHYARD_SERVER): want the config ` +
				"service's host:port, such as 127.0.0.1:7701\n"},
		{"server without host", ":7701", "", []string{"bus", "list"}, `invalid --server ":7701"`},
		{"server port not a number", "localhost:http", "", []string{"bus", "list"},
			`invalid --server "localhost:http"`},
		{"ingest scheme", "", "ftp://x", []string{"events", "put", "--type", "a", "--source", "/s"},
			`error: invalid --ingest-url "ftp://x" (env SWITCHYARD_INGEST_URL): want an http or ` +
				"https URL with a host, such as http://127.0.0.1:7700\n"},
		{"ingest without host", "", "http://", []string{"events", "put", "--type", "a", "--source", "/s"},
			`invalid --ingest-url "http://"`},
		{"ingest without scheme", "", "127.0.0.1:7700",
			[]string{"events", "put", "--type", "a", "--source", "/s"}, `invalid --ingest-url "127.0.0.1:7700"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)
			if tt.server != "" {
				c.server = tt.server
			}
			if tt.ingest != "" {
				c.ingest = tt.ingest
			}

			// Through the environment variable, then through the flag.
			for _, args := range [][]string{
				tt.args,
				append([]string{"--server", c.server, "--ingest-url", c.ingest}, tt.args...),
			} {
				r := c.run(args...)
				r.wantCode(t, exitUsage)
				if !strings.Contains(r.stderr, tt.want) {
					t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
				}
				if strings.Contains(r.stderr, "hint:") {
					t.Errorf("stderr = %q, want no hint that the server is down", r.stderr)
				}
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("requests = %d, want 0", n)
			}
		})
	}
}
