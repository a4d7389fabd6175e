package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDevChecksFlagsBeforeStart(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"nats listen without host", []string{"--nats-listen", "17722"}, nil,
			`error: invalid --nats-listen "17722": want host:port, such as 127.0.0.1:7722`},
		{"config listen", []string{"--config-listen", "127.0.0.1"}, nil,
			`error: invalid --config-listen "127.0.0.1": want host:port, such as 127.0.0.1:7701`},
		{"ingest listen port", []string{"--ingest-listen", "127.0.0.1:70000"}, nil,
			`error: invalid --ingest-listen "127.0.0.1:70000": want host:port, such as 127.0.0.1:7700`},
		{"metrics listen", []string{"--metrics-listen", "metrics"}, nil,
			`error: invalid --metrics-listen "metrics": want host:port, such as 127.0.0.1:7710`},
		{"replicas on embedded server", []string{"--replicas", "3"}, nil,
			"error: invalid --replicas 3 (env SWITCHYARD_REPLICAS): the embedded NATS server is a " +
				"single server, so use --replicas 1 or set NATS_URL to a cluster"},
		{"replicas from env on embedded server", nil, map[string]string{"SWITCHYARD_REPLICAS": "3"},
			"error: invalid --replicas 3 (env SWITCHYARD_REPLICAS)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			// Free ports, and a deadline, bound a dev that starts anyway.
			args := []string{"dev", "--data-dir", dataDir, "--nats-listen", "127.0.0.1:0",
				"--config-listen", "127.0.0.1:0", "--ingest-listen", "127.0.0.1:0",
				"--metrics-listen", "127.0.0.1:0"}
			r := runWithDeadline(t, 10*time.Second, tt.env, append(args, tt.args...)...)
			r.wantCode(t, exitUsage)

			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to start with %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing: dev must not start", r.stdout)
			}
			if entries, err := os.ReadDir(dataDir); err != nil || len(entries) != 0 {
				t.Errorf("data folder entries = %v (%v), want none: dev must not start", entries, err)
			}
		})
	}
}

// runWithDeadline runs the CLI with env as its whole environment and
// cancels it after timeout.
func runWithDeadline(t *testing.T, timeout time.Duration, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var stdout, stderr strings.Builder
	s := streams{
		in:     strings.NewReader(""),
		out:    &stdout,
		err:    &stderr,
		getenv: func(name string) string { return env[name] },
	}
	code := run(ctx, args, s)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}
