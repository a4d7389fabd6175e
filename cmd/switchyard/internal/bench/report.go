package bench

import (
	"fmt"
	"time"
)

// Report is everything one `switchyard bench` run measured. It is
// written as JSON and rendered into the benchmarks page.
type Report struct {
	Time    time.Time `json:"time"`
	Machine Machine   `json:"machine"`
	// Events is the event count of the pipeline and isolation phases.
	Events  int           `json:"events"`
	Phases  []string      `json:"phases"`
	Runs    []*RunResult  `json:"runs"`
	Targets []TargetCheck `json:"targets"`
	// Shares compare figures that have no target.
	Shares []Share `json:"shares"`
	// CPUProfile is the file holding the CPU profile of the first dev
	// run, when one was requested.
	CPUProfile string `json:"cpu_profile,omitempty"`
}

// Machine describes where the report was measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
}

// RunResult holds the phases measured against one running Switchyard.
type RunResult struct {
	Mode  string `json:"mode"`
	Redis bool   `json:"redis"`
	// LoadBefore and LoadAfter are the machine's load averages over 1, 5
	// and 15 minutes when the run started and ended.
	LoadBefore string            `json:"load_before,omitempty"`
	LoadAfter  string            `json:"load_after,omitempty"`
	Ingest     *IngestResult     `json:"ingest,omitempty"`
	Pipeline   []PipelineResult  `json:"pipeline,omitempty"`
	Latency    *LatencyResult    `json:"latency,omitempty"`
	Isolation  *IsolationResult  `json:"isolation,omitempty"`
	Limit      *LimitResult      `json:"limit,omitempty"`
	Errors     map[string]string `json:"errors,omitempty"`
}

// Name is the run's label in tables, such as "dev, Redis off".
func (r *RunResult) Name() string {
	redis := "Redis off"
	if r.Redis {
		redis = "Redis on"
	}
	return r.Mode + ", " + redis
}

// IngestResult is the ingest phase: HTTP requests answered after the
// store, and JetStream publishes to ingest.<bus> until stored in EVENTS.
type IngestResult struct {
	HTTPRequests          int       `json:"http_requests"`
	HTTPConnections       int       `json:"http_connections"`
	HTTPFailed            int       `json:"http_failed"`
	HTTPSeconds           float64   `json:"http_seconds"`
	HTTPRequestsPerSecond float64   `json:"http_requests_per_second"`
	HTTPLatency           Latencies `json:"http_latency"`
	HTTPCPU               *CPUUse   `json:"http_cpu,omitempty"`
	NATSEvents            int       `json:"nats_events"`
	NATSSeconds           float64   `json:"nats_seconds"`
	NATSEventsPerSecond   float64   `json:"nats_events_per_second"`
}

// PipelineResult is one pipeline run: events published over NATS until
// the last one reached the endpoint.
type PipelineResult struct {
	// Round is the run's place in the phase, from 1. The phase runs the
	// rule counts in ABBA order, so each count runs once early and once
	// late, and the order alone does not favor one count.
	Round           int     `json:"round"`
	Rules           int     `json:"rules"`
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	// LongestGapSeconds is the longest time between two deliveries at
	// the endpoint, which shows a stall that the average hides.
	LongestGapSeconds float64 `json:"longest_gap_seconds"`
	CPU               *CPUUse `json:"cpu,omitempty"`
}

// CPUUse is the CPU time, user and system, spent during a measurement.
// It counts work rather than waiting, so it shows the cost of an event
// when a rate is held back by something else, though contention for the
// CPUs still raises it.
type CPUUse struct {
	Seconds              float64 `json:"seconds"`
	MicrosecondsPerEvent float64 `json:"microseconds_per_event"`
	// Scope names whose CPU time it is: the service processes, or the
	// whole bench process in dev mode.
	Scope string `json:"scope"`
}

// LatencyResult is publish-to-endpoint latency at a steady rate.
type LatencyResult struct {
	PerSecond int       `json:"per_second"`
	Seconds   float64   `json:"seconds"`
	Events    int       `json:"events"`
	Latency   Latencies `json:"latency"`
	// Missing counts events not delivered when the phase ended.
	Missing int `json:"missing"`
}

// IsolationResult compares a healthy destination's throughput beside a
// failing one with its throughput beside a healthy one.
type IsolationResult struct {
	Events int `json:"events"`
	// HealthyBaseline and HealthyDegraded are deliveries a second to the
	// healthy destination, beside a healthy and a failing one.
	HealthyBaseline float64 `json:"healthy_baseline_per_second"`
	HealthyDegraded float64 `json:"healthy_degraded_per_second"`
	Share           float64 `json:"share"`
	// Accepted, Delivered, DeadLettered and Waiting count the failing
	// destination's events. Waiting ones are still stored in DELIVERIES,
	// held by the circuit breaker or backoff when the phase ended. Lost
	// is what is in none of these states.
	Accepted     int `json:"accepted"`
	Delivered    int `json:"delivered"`
	DeadLettered int `json:"dead_lettered"`
	Waiting      int `json:"waiting"`
	Answered503  int `json:"answered_503"`
	Lost         int `json:"lost"`
}

// LimitResult is raw JetStream on the same server: publish into a file
// stream, relay to a second stream, and ack there. Shaped is the raw
// shaped flow, measured after it.
type LimitResult struct {
	Events          int           `json:"events"`
	Seconds         float64       `json:"seconds"`
	EventsPerSecond float64       `json:"events_per_second"`
	Shaped          *ShapedResult `json:"shaped,omitempty"`
}

// ShapedResult is the raw shaped flow: the JetStream and HTTP work of
// Switchyard's design for each event, with none of the services' logic.
// Each event is stored in three streams, its record is created and then
// read and updated in a key-value bucket, and its payload is posted to
// a local endpoint.
type ShapedResult struct {
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	// UpdateRetries counts record updates that met a revision other
	// than the one read, because the create was stored after the read,
	// and read the record again.
	UpdateRetries int `json:"update_retries"`
	// LateCreates counts record creates that found the updated record
	// stored already.
	LateCreates int `json:"late_creates"`
}

// TargetCheck compares one figure of a run with its target.
type TargetCheck struct {
	Run    string  `json:"run"`
	Name   string  `json:"name"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	// Ratio is the value over the target, inverted for upper bounds, so
	// 1 or more always means the target is met.
	Ratio float64 `json:"ratio"`
	Met   bool    `json:"met"`
	// Basis lists the measured figures the value comes from, where it
	// is computed from more than one.
	Basis string `json:"basis,omitempty"`
}

// Verdict returns whether the target is met and by how much, such as
// "met, 1.26 times the target" or "NOT MET, 0.31 of the target".
func (t TargetCheck) Verdict() string {
	if t.Met {
		return fmt.Sprintf("met, %.2f times the target", t.Ratio)
	}
	return fmt.Sprintf("NOT MET, %.2f of the target", t.Ratio)
}

// Summary returns the check in one line without the run or the basis,
// such as "ingest requests/s 12,581, target >= 10,000: met, 1.26 times
// the target".
func (t TargetCheck) Summary() string {
	return fmt.Sprintf("%s %s, target %s: %s", t.Name, number(t.Value), t.Target, t.Verdict())
}

// Share is one figure of a run over another, with no target.
type Share struct {
	Run   string  `json:"run"`
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Basis string  `json:"basis,omitempty"`
}

// Summary returns the share in one line without the run or the basis,
// such as "pipeline / raw shaped flow 0.55, no target".
func (s Share) Summary() string {
	return fmt.Sprintf("%s %s, no target", s.Name, number(s.Value))
}
