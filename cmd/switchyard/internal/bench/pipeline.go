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

// runPipeline publishes cfg.Events events over NATS to a bus with the
// given number of rules, each event matching one rule, and measures
// from the first publish to the last delivery.
func runPipeline(ctx context.Context, e *env, cfg Config, rules int) (PipelineResult, error) {
	res := PipelineResult{Rules: rules, Events: cfg.Events}
	ep, err := startEndpoint()
	if err != nil {
		return res, err
	}
	defer ep.close()

	bus := fmt.Sprintf("bench-pipeline-%d", rules)
	rs, err := createRuleSet(ctx, e, ep, ruleSet{bus: bus, rules: rules})
	if err != nil {
		return res, err
	}

	b := batch{bus: bus, idPrefix: bus, count: cfg.Events,
		key: func(i int) string { return ruleKey(i % rules) }}
	cpu := startCPU(e)
	start, err := b.publish(ctx, e)
	if err != nil {
		return res, err
	}
	err = ep.waitOK(ctx, cfg.Events)
	elapsed := ep.lastDelivery().Sub(start)
	res.Seconds = elapsed.Seconds()
	res.EventsPerSecond = rate(int(ep.ok.Load()), elapsed)
	res.LongestGapSeconds = ep.longestGap().Seconds()
	res.CPU = e.cpuUse(cpu, cfg.Events)
	if err != nil {
		return res, fmt.Errorf("bus %s: %w", rs.bus, err)
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
