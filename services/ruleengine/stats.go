package ruleengine

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Stats counts what a Service has handled since it was created.
type Stats struct {
	// Events is every event fetched, including redeliveries.
	Events uint64
	// Matched is the events that matched at least one rule.
	Matched uint64
	// Invalid is the events terminated for not being a JSON object.
	Invalid uint64
	// Tasks is the delivery tasks that JetStream stored or, within its
	// duplicate window, recognized as already stored.
	Tasks uint64
	// DuplicateTasks is the part of Tasks that JetStream recognized.
	DuplicateTasks uint64
	// RenderFailures is the (event, rule, target) requests that could not
	// be rendered, or whose task was too large, and got a dead letter or
	// a failed record instead of a task.
	RenderFailures uint64
	// DeadLetters is the dead letters of such requests that JetStream
	// stored or, within its duplicate window, recognized as already
	// stored.
	DeadLetters uint64
	// Retries is the events handed back for redelivery because a record
	// or task could not be stored.
	Retries uint64
}

// counters keeps the totals that Stats returns and adds each count to
// the matching OpenTelemetry counter too, with attributes Stats leaves
// out.
type counters struct {
	obs *observer

	events, matched, invalid              atomic.Uint64
	tasks, duplicateTasks, renderFailures atomic.Uint64
	deadLetters, retries                  atomic.Uint64
}

func (c *counters) addEvent(ctx context.Context) {
	c.events.Add(1)
	c.obs.events.Add(ctx, 1)
}

// addMatched counts an event that matched the rules named in matches.
func (c *counters) addMatched(ctx context.Context, bus string, matches []string) {
	c.matched.Add(1)
	c.obs.matched.Add(ctx, 1)
	for _, rule := range matches {
		c.obs.ruleMatches.Add(ctx, 1, busRule(bus, rule))
	}
}

func (c *counters) addInvalid(ctx context.Context) {
	c.invalid.Add(1)
	c.obs.invalid.Add(ctx, 1)
}

// addStored counts a task or a dead letter that JetStream stored.
func (c *counters) addStored(ctx context.Context, deadLetter, duplicate bool) {
	if deadLetter {
		c.deadLetters.Add(1)
		return
	}
	c.tasks.Add(1)
	if duplicate {
		c.duplicateTasks.Add(1)
	}
	c.obs.tasks.Add(ctx, 1, metric.WithAttributes(attribute.Bool("duplicate", duplicate)))
}

// addRenderFailure counts a task that could not be built, with its
// error code and whether it is being dead-lettered.
func (c *counters) addRenderFailure(ctx context.Context, bus, rule, code string, deadLettered bool) {
	c.renderFailures.Add(1)
	c.obs.renderFailures.Add(ctx, 1, metric.WithAttributes(
		attribute.String("bus", bus), attribute.String("rule", rule),
		attribute.String("code", code), attribute.Bool("dead_lettered", deadLettered)))
}

func (c *counters) addRetry(ctx context.Context) {
	c.retries.Add(1)
	c.obs.retries.Add(ctx, 1)
}

// Stats returns the counters. It is safe to call while Run runs.
func (s *Service) Stats() Stats {
	c := &s.stats
	return Stats{
		Events:         c.events.Load(),
		Matched:        c.matched.Load(),
		Invalid:        c.invalid.Load(),
		Tasks:          c.tasks.Load(),
		DuplicateTasks: c.duplicateTasks.Load(),
		RenderFailures: c.renderFailures.Load(),
		DeadLetters:    c.deadLetters.Load(),
		Retries:        c.retries.Load(),
	}
}
