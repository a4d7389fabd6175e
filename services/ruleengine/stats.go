package ruleengine

import "sync/atomic"

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
	// be rendered and got a failed record instead of a task.
	RenderFailures uint64
	// Retries is the events handed back for redelivery because a record
	// or task could not be stored.
	Retries uint64
}

// TODO: export these counters as OpenTelemetry metrics; until then Stats
// is the only way to read them.
type counters struct {
	events, matched, invalid              atomic.Uint64
	tasks, duplicateTasks, renderFailures atomic.Uint64
	retries                               atomic.Uint64
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
		Retries:        c.retries.Load(),
	}
}
