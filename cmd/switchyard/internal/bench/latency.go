package bench

import (
	"context"
	"fmt"
	"time"
)

// runLatency publishes at a steady rate to a bus of cfg.Rules[0] rules
// and measures each event's time from publish to the endpoint.
func runLatency(ctx context.Context, e *env, cfg Config) (*LatencyResult, error) {
	count := int(float64(cfg.LatencyRate) * cfg.LatencyDuration.Seconds())
	res := &LatencyResult{PerSecond: cfg.LatencyRate, Events: count}
	ep, err := startEndpoint()
	if err != nil {
		return res, err
	}
	ep.latency = &recorder{}
	defer ep.close()

	rules := cfg.RuleCounts[0]
	if _, err := createRuleSet(ctx, e, ep, ruleSet{bus: "bench-latency", rules: rules}); err != nil {
		return res, err
	}

	b := batch{bus: "bench-latency", idPrefix: "latency", count: count,
		perSecond: cfg.LatencyRate, key: func(i int) string { return ruleKey(i % rules) }}
	start, err := b.publish(ctx, e)
	if err != nil {
		return res, err
	}
	err = ep.waitOK(ctx, count)
	res.Seconds = time.Since(start).Seconds()
	res.Latency = ep.latency.summary()
	res.Missing = count - int(ep.ok.Load())
	if err != nil {
		return res, fmt.Errorf("latency phase: %w", err)
	}
	return res, nil
}
