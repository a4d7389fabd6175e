package bench

import "time"

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
// stream, relay to a second stream, and ack there.
type LimitResult struct {
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
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
}
