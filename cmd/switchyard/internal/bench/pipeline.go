package bench

import (
	"context"
	"fmt"
	"time"
)

// pipelineDestinations is how many destinations share the rules of a
// pipeline run, all aimed at one endpoint, so no single destination's
// concurrency limit is what the run measures.
const pipelineDestinations = 4

// runPipelines runs the pipeline once for each of cfg.RuleCounts, in
// order, and stops at the first run that fails. A rule count that comes
// again reuses the bus, rules and endpoint of its first run, so both of
// its runs measure the same setup.
func runPipelines(ctx context.Context, e *env, cfg Config) ([]PipelineResult, error) {
	buses := map[int]*pipelineBus{}
	defer func() {
		for _, b := range buses {
			b.ep.close()
		}
	}()

	var results []PipelineResult
	for i, rules := range cfg.RuleCounts {
		b := buses[rules]
		if b == nil {
			var err error
			if b, err = newPipelineBus(ctx, e, rules); err != nil {
				return results, err
			}
			buses[rules] = b
		}
		res, err := b.run(ctx, e, cfg, i+1)
		results = append(results, res)
		if err != nil {
			return results, err
		}
		e.log.Info("pipeline round finished", "round", res.Round, "rules", rules,
			"events_per_second", int(res.EventsPerSecond), "longest_gap_seconds", res.LongestGapSeconds)
	}
	return results, nil
}

// pipelineBus is a bus of the pipeline phase with its rules, each event
// matching one, and the endpoint their destinations aim at.
type pipelineBus struct {
	rules int
	rs    ruleSet
	ep    *endpoint
}

func newPipelineBus(ctx context.Context, e *env, rules int) (*pipelineBus, error) {
	ep, err := startEndpoint()
	if err != nil {
		return nil, err
	}
	bus := fmt.Sprintf("bench-pipeline-%d", rules)
	rs, err := createRuleSet(ctx, e, ep, ruleSet{bus: bus, rules: rules})
	if err != nil {
		ep.close()
		return nil, err
	}
	return &pipelineBus{rules: rules, rs: rs, ep: ep}, nil
}

// run publishes cfg.Events events over NATS to the bus and measures
// from the first publish to the last delivery. Round, the run's place in
// the phase, keeps the event ids unique across runs on the same bus,
// since ingest drops an id it has seen.
func (b *pipelineBus) run(ctx context.Context, e *env, cfg Config, round int) (PipelineResult, error) {
	res := PipelineResult{Round: round, Rules: b.rules, Events: cfg.Events}
	b.ep.reset()
	batch := batch{bus: b.rs.bus, idPrefix: fmt.Sprintf("%s-round%d", b.rs.bus, round),
		count: cfg.Events, key: func(i int) string { return ruleKey(i % b.rules) }}
	cpu := startCPU(e)
	start, err := batch.publish(ctx, e)
	if err != nil {
		return res, err
	}
	err = b.ep.waitOK(ctx, cfg.Events)
	elapsed := b.ep.lastDelivery().Sub(start)
	res.Seconds = elapsed.Seconds()
	res.EventsPerSecond = rate(int(b.ep.ok.Load()), elapsed)
	res.LongestGapSeconds = b.ep.longestGap().Seconds()
	res.CPU = e.cpuUse(cpu, cfg.Events)
	if err != nil {
		return res, fmt.Errorf("bus %s, round %d: %w", b.rs.bus, round, err)
	}
	return res, nil
}

// createRuleSet creates rs's bus and rules, and first its destinations
// aimed at ep when rs names none, then waits until the rule engine has
// loaded the rules.
func createRuleSet(ctx context.Context, e *env, ep *endpoint, rs ruleSet) (ruleSet, error) {
	if rs.destinations == nil {
		for i := range pipelineDestinations {
			name := fmt.Sprintf("%s-d%d", rs.bus, i)
			if err := e.createDestination(ctx, name, ep.url); err != nil {
				return rs, err
			}
			rs.destinations = append(rs.destinations, name)
		}
	}

	start := time.Now()
	if err := rs.create(ctx, e); err != nil {
		return rs, err
	}
	if err := rs.waitLoaded(ctx, e); err != nil {
		return rs, err
	}
	e.log.Info("rules loaded", "bus", rs.bus, "rules", rs.rules,
		"seconds", time.Since(start).Seconds())
	return rs, nil
}
