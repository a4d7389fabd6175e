package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

const (
	isolationBus     = "bench-isolation"
	flakyDestination = "bench-iso-flaky"
)

// runIsolation splits cfg.IsolationEvents events over two destinations, first
// with both healthy and then with one answering 503 to every other
// request, and compares the healthy one's throughput between the two.
// Its targets retry three times with short backoff, so the failing
// destination's events end delivered or dead-lettered within seconds.
func runIsolation(ctx context.Context, e *env, cfg Config) (*IsolationResult, error) {
	res := &IsolationResult{Events: cfg.IsolationEvents}
	healthy, err := startEndpoint()
	if err != nil {
		return res, err
	}
	defer healthy.close()
	flaky, err := startEndpoint()
	if err != nil {
		return res, err
	}
	defer flaky.close()

	dests := []string{"bench-iso-healthy", flakyDestination}
	for i, ep := range []*endpoint{healthy, flaky} {
		if err := e.createDestination(ctx, dests[i], ep.url); err != nil {
			return res, err
		}
	}
	rs := ruleSet{bus: isolationBus, rules: 2, destinations: dests, retry: shortRetryPolicy()}
	if _, err := createRuleSet(ctx, e, nil, rs); err != nil {
		return res, err
	}

	iso := isolation{env: e, healthy: healthy, flaky: flaky, events: cfg.IsolationEvents,
		phaseTimeout: cfg.PhaseTimeout}
	if res.HealthyBaseline, err = iso.measure(ctx, "iso-baseline"); err != nil {
		return res, fmt.Errorf("both healthy: %w", err)
	}
	if err := iso.waitFlaky(ctx, res); err != nil {
		return res, fmt.Errorf("both healthy: %w", err)
	}

	flaky.flaky.Store(true)
	if res.HealthyDegraded, err = iso.measure(ctx, "iso-degraded"); err != nil {
		return res, fmt.Errorf("one failing: %w", err)
	}
	res.Share = res.HealthyDegraded / res.HealthyBaseline
	return res, iso.waitFlaky(ctx, res)
}

// isolation is one pair of destinations under the isolation phase.
type isolation struct {
	env            *env
	healthy, flaky *endpoint
	events         int
	phaseTimeout   time.Duration
	// deadLetters is the DEADLETTER count before the current round.
	deadLetters int
}

// healthyCount and flakyCount are how the events split: even-numbered
// ones match rule 0, which targets the healthy destination.
func (iso *isolation) healthyCount() int { return (iso.events + 1) / 2 }
func (iso *isolation) flakyCount() int   { return iso.events / 2 }

// measure publishes one round and returns the healthy destination's
// deliveries a second, from the first publish to its last delivery.
func (iso *isolation) measure(ctx context.Context, idPrefix string) (float64, error) {
	dl, err := iso.deadLettered(ctx)
	if err != nil {
		return 0, err
	}
	iso.deadLetters = dl
	iso.healthy.reset()
	iso.flaky.reset()

	b := batch{bus: isolationBus, idPrefix: idPrefix, count: iso.events,
		key: func(i int) string { return ruleKey(i % 2) }}
	start, err := b.publish(ctx, iso.env)
	if err != nil {
		return 0, err
	}
	if err := iso.healthy.waitOK(ctx, iso.healthyCount()); err != nil {
		return 0, fmt.Errorf("healthy destination: %w", err)
	}
	return rate(iso.healthyCount(), iso.healthy.lastDelivery().Sub(start)), nil
}

// settleWait, or a quarter of the phase timeout when less, bounds how
// long waitFlaky waits for the failing
// destination's events to end delivered or dead-lettered. Delivery's
// circuit breaker may hold them longer, stored in DELIVERIES, and they
// then count as waiting.
const settleWait = time.Minute

// waitFlaky waits until every event of the failing destination is
// delivered, dead-lettered or, after settleWait, still stored in
// DELIVERIES, and records the counts in res. It fails when an event is
// in none of these states.
func (iso *isolation) waitFlaky(ctx context.Context, res *IsolationResult) error {
	want := iso.flakyCount()
	settle, cancel := context.WithTimeout(ctx, min(settleWait, iso.phaseTimeout/4))
	defer cancel()
	err := poll(settle, func() (bool, string) {
		if err := iso.count(ctx, res, false); err != nil {
			return false, err.Error()
		}
		return res.Delivered+res.DeadLettered >= want, iso.describe(res)
	})
	if err == nil || ctx.Err() != nil {
		return err
	}

	// The counts are read one after another, so a delivery acked
	// between two reads is briefly counted twice or not at all. Polling
	// continues until they add up.
	return poll(ctx, func() (bool, string) {
		if err := iso.count(ctx, res, true); err != nil {
			return false, err.Error()
		}
		return res.Lost == 0, iso.describe(res)
	})
}

// count fills the failing destination's counts into res, with the
// events waiting in DELIVERIES when withWaiting is set.
func (iso *isolation) count(ctx context.Context, res *IsolationResult, withWaiting bool) error {
	total, err := iso.deadLettered(ctx)
	if err != nil {
		return err
	}
	res.Accepted = iso.flakyCount()
	res.DeadLettered = total - iso.deadLetters
	res.Delivered = int(iso.flaky.ok.Load())
	res.Answered503 = int(iso.flaky.failed.Load())
	res.Waiting = 0
	if withWaiting {
		if res.Waiting, err = iso.waiting(ctx); err != nil {
			return err
		}
	}
	res.Lost = res.Accepted - res.Delivered - res.DeadLettered - res.Waiting
	return nil
}

func (iso *isolation) describe(res *IsolationResult) string {
	return fmt.Sprintf("%d delivered, %d dead-lettered and %d waiting of %d",
		res.Delivered, res.DeadLettered, res.Waiting, res.Accepted)
}

// waiting returns how many tasks for the failing destination DELIVERIES
// still stores, in flight or waiting for their next attempt.
func (iso *isolation) waiting(ctx context.Context) (int, error) {
	t := iso.env.topology
	stream, err := iso.env.js.Stream(ctx, t.Stream(streams.Deliveries))
	if err != nil {
		return 0, fmt.Errorf("look up the DELIVERIES stream: %w", err)
	}
	return subjectCount(ctx, stream, t.DeliveriesSubject(flakyDestination))
}

// deadLettered returns how many dead letters the isolation bus has.
func (iso *isolation) deadLettered(ctx context.Context) (int, error) {
	t := iso.env.topology
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := iso.env.js.Stream(ctx, t.Stream(streams.DeadLetter))
	if err != nil {
		return 0, fmt.Errorf("look up the DEADLETTER stream: %w", err)
	}
	return subjectCount(ctx, stream, t.DeadLetterSubject(isolationBus))
}
