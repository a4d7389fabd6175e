package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/bench"
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

func TestBenchSummaryShowsMeansAndShares(t *testing.T) {
	run := &bench.RunResult{
		Mode: bench.ModeDev,
		Pipeline: []bench.PipelineResult{
			{Round: 1, Rules: 100, EventsPerSecond: 3000},
			{Round: 2, Rules: 10_000, EventsPerSecond: 4000},
		},
		Errors: map[string]string{},
	}
	rep := &bench.Report{
		Runs: []*bench.RunResult{run},
		Targets: []bench.TargetCheck{{Run: run.Name(), Name: "pipeline / raw JetStream",
			Target: ">= 0.5", Value: 0.15, Ratio: 0.3,
			Basis: "100 rules: mean 3,000 events/s of 2,000 and 4,000; raw JetStream 20,000 messages/s"}},
		Shares: []bench.Share{{Run: run.Name(), Name: "pipeline / raw shaped flow", Value: 0.5,
			Basis: "100 rules: mean 3,000 events/s of 2,000 and 4,000; raw shaped flow 6,000 events/s"}},
	}
	var out strings.Builder
	a := newApp(streams{out: &out})
	if err := a.printBenchSummary(rep); err != nil {
		t.Fatalf("printBenchSummary: %v", err)
	}

	for _, want := range []string{
		"round 1, 100 rules 3000 events/s; round 2, 10000 rules 4000 events/s",
		"pipeline / raw JetStream 0.15, target >= 0.5: NOT MET, 0.30 of the target",
		"   100 rules: mean 3,000 events/s of 2,000 and 4,000; raw JetStream 20,000 messages/s",
		"Shares, with no target:",
		"pipeline / raw shaped flow 0.50, no target",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
