package bench

import (
	"slices"
	"strings"
)

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
	add := func(name, target string, value, ratio float64, basis string) {
		out = append(out, TargetCheck{Run: run.Name(), Name: name, Target: target,
			Value: value, Ratio: ratio, Met: ratio >= 1, Basis: basis})
	}

	if in := run.Ingest; in != nil && in.HTTPRequestsPerSecond > 0 {
		add("ingest requests/s", ">= 10,000", in.HTTPRequestsPerSecond,
			in.HTTPRequestsPerSecond/targetIngestPerSecond, "")
		add("ingest p99 ms", "< 20", in.HTTPLatency.P99, below(in.HTTPLatency.P99, targetIngestP99ms), "")
	}
	if counts := pipelineRuns(run); len(counts) > 0 {
		few := counts[0]
		if raw := twoHopRate(run); raw > 0 {
			share := few.mean() / raw
			add("pipeline / raw JetStream", ">= 0.5", share, share/targetPipelineShare,
				few.String()+"; "+twoHopText(raw))
		}
		if len(counts) > 1 {
			many := counts[1]
			share := many.mean() / few.mean()
			add("many rules / few rules", ">= 0.9", share, share/targetManyRulesShare,
				many.String()+"; "+few.String())
		}
	}
	if l := run.Latency; l != nil && l.Latency.Count > 0 {
		add("latency p50 ms", "< 5", l.Latency.P50, below(l.Latency.P50, targetLatencyP50ms), "")
		add("latency p99 ms", "< 50", l.Latency.P99, below(l.Latency.P99, targetLatencyP99ms), "")
	}
	if iso := run.Isolation; iso != nil && iso.Share > 0 {
		add("healthy share beside a failing destination", ">= 0.9", iso.Share,
			iso.Share/targetIsolationShare, "")
	}
	return out
}

// checkShares compares the pipeline with the raw shaped flow, and the
// raw shaped flow with raw two-hop JetStream, in each run. They have no
// target: the shaped flow does the JetStream and HTTP work of the
// design, so the first share shows what the services' own logic costs,
// and the second what the design's extra stores and calls cost.
func checkShares(rep *Report) []Share {
	var out []Share
	for _, run := range rep.Runs {
		shaped := shapedRate(run)
		if shaped <= 0 {
			continue
		}
		if counts := pipelineRuns(run); len(counts) > 0 {
			few := counts[0]
			out = append(out, Share{Run: run.Name(), Name: "pipeline / raw shaped flow",
				Value: few.mean() / shaped, Basis: few.String() + "; " + shapedText(shaped)})
		}
		if raw := twoHopRate(run); raw > 0 {
			out = append(out, Share{Run: run.Name(), Name: "raw shaped flow / raw JetStream",
				Value: shaped / raw, Basis: shapedText(shaped) + "; " + twoHopText(raw)})
		}
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

// ruleRuns are the pipeline rates of one rule count, in run order.
type ruleRuns struct {
	rules int
	rates []float64
}

func (r ruleRuns) mean() float64 {
	var sum float64
	for _, v := range r.rates {
		sum += v
	}
	return sum / float64(len(r.rates))
}

// String describes the runs, such as "100 rules: mean 4,374 events/s of
// 4,300 and 4,448".
func (r ruleRuns) String() string {
	head := commas(int64(r.rules)) + " rules: "
	if len(r.rates) == 1 {
		return head + number(r.rates[0]) + " events/s in one run"
	}
	runs := make([]string, len(r.rates))
	for i, v := range r.rates {
		runs[i] = number(v)
	}
	return head + "mean " + number(r.mean()) + " events/s of " + joinAnd(runs)
}

// pipelineRuns groups a run's pipeline rates by rule count, in the
// order each count first ran. It returns nil when the pipeline phase
// failed, because a failed phase is not compared.
func pipelineRuns(run *RunResult) []ruleRuns {
	if run.Errors[PhasePipeline] != "" {
		return nil
	}
	var out []ruleRuns
	for _, p := range run.Pipeline {
		if p.EventsPerSecond <= 0 {
			continue
		}
		i := slices.IndexFunc(out, func(r ruleRuns) bool { return r.rules == p.Rules })
		if i < 0 {
			out = append(out, ruleRuns{rules: p.Rules})
			i = len(out) - 1
		}
		out[i].rates = append(out[i].rates, p.EventsPerSecond)
	}
	return out
}

// twoHopRate and shapedRate return the limit phase's rates, or 0 when
// the phase failed or did not measure them.
func twoHopRate(run *RunResult) float64 {
	if run.Errors[PhaseLimit] != "" || run.Limit == nil {
		return 0
	}
	return run.Limit.EventsPerSecond
}

func shapedRate(run *RunResult) float64 {
	if run.Errors[PhaseLimit] != "" || run.Limit == nil || run.Limit.Shaped == nil {
		return 0
	}
	return run.Limit.Shaped.EventsPerSecond
}

func twoHopText(v float64) string { return "raw JetStream " + number(v) + " messages/s" }
func shapedText(v float64) string { return "raw shaped flow " + number(v) + " events/s" }

// joinAnd joins items as "a", "a and b" or "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
