package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchChecksReportPathFirst(t *testing.T) {
	c := newCLI(t, &fakeConfig{})
	missing := filepath.Join(t.TempDir(), "missing", "benchmarks.json")

	r := c.run("bench", "--phases", "limit", "--out", missing, "--markdown", "")
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stderr, "cannot write the report to "+missing) {
		t.Errorf("stderr = %q, want the report path named", r.stderr)
	}
}
