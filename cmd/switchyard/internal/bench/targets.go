package bench

// Targets for a 2-core machine. They are the figures the benchmarks
// page compares each run against; a slower or faster machine moves all
// of them.
const (
	targetIngestPerSecond = 10_000
	targetIngestP99ms     = 20
	targetPipelineShare   = 0.5
	targetManyRulesShare  = 0.9
	targetLatencyP50ms    = 5
	targetLatencyP99ms    = 50
	targetIsolationShare  = 0.9
)

// checkTargets compares each measured run with the targets.
func checkTargets(rep *Report) []TargetCheck {
	var out []TargetCheck
	for _, run := range rep.Runs {
		out = append(out, runTargets(run)...)
	}
	return out
}

func runTargets(run *RunResult) []TargetCheck {
	var out []TargetCheck
	add := func(name, target string, value, ratio float64) {
		out = append(out, TargetCheck{Run: run.Name(), Name: name, Target: target,
			Value: value, Ratio: ratio, Met: ratio >= 1})
	}

	if in := run.Ingest; in != nil && in.HTTPRequestsPerSecond > 0 {
		add("ingest requests/s", ">= 10,000", in.HTTPRequestsPerSecond,
			in.HTTPRequestsPerSecond/targetIngestPerSecond)
		add("ingest p99 ms", "< 20", in.HTTPLatency.P99, below(in.HTTPLatency.P99, targetIngestP99ms))
	}
	if few, many := pipelineAt(run, 0), pipelineAt(run, 1); few != nil {
		if run.Limit != nil && run.Limit.EventsPerSecond > 0 {
			share := few.EventsPerSecond / run.Limit.EventsPerSecond
			add("pipeline / raw JetStream", ">= 0.5", share, share/targetPipelineShare)
		}
		if many != nil && few.EventsPerSecond > 0 {
			share := many.EventsPerSecond / few.EventsPerSecond
			add("many rules / few rules", ">= 0.9", share, share/targetManyRulesShare)
		}
	}
	if l := run.Latency; l != nil && l.Latency.Count > 0 {
		add("latency p50 ms", "< 5", l.Latency.P50, below(l.Latency.P50, targetLatencyP50ms))
		add("latency p99 ms", "< 50", l.Latency.P99, below(l.Latency.P99, targetLatencyP99ms))
	}
	if iso := run.Isolation; iso != nil && iso.Share > 0 {
		add("healthy share beside a failing destination", ">= 0.9", iso.Share,
			iso.Share/targetIsolationShare)
	}
	return out
}

// below turns an upper bound into a ratio where 1 or more means met.
func below(value, limit float64) float64 {
	if value <= 0 {
		return 0
	}
	return limit / value
}

// pipelineAt returns the i-th pipeline result when it measured
// anything.
func pipelineAt(run *RunResult, i int) *PipelineResult {
	if i >= len(run.Pipeline) || run.Pipeline[i].EventsPerSecond <= 0 {
		return nil
	}
	return &run.Pipeline[i]
}
