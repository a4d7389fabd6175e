// Package bench is the load generator behind `switchyard bench`. It
// starts Switchyard on this machine, in one process as `switchyard dev`
// does or as the four service binaries, drives it over HTTP and NATS at
// 127.0.0.1 only, and measures ingest, pipeline throughput, latency and
// isolation beside what raw JetStream allows on the same server. Every
// phase is bounded in count and time.
package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Phases a run can measure.
const (
	PhaseIngest    = "ingest"
	PhasePipeline  = "pipeline"
	PhaseLatency   = "latency"
	PhaseIsolation = "isolation"
	PhaseLimit     = "limit"
)

// AllPhases lists every phase in run order. The limit phase runs just
// before the pipeline, so the two see the machine in a similar state.
var AllPhases = []string{PhaseIngest, PhaseLimit, PhasePipeline, PhaseLatency, PhaseIsolation}

// Defaults of Config.
const (
	DefaultEvents          = 100_000
	DefaultConnections     = 64
	DefaultLatencyRate     = 1000
	DefaultLatencyDuration = 10 * time.Second
	DefaultPhaseTimeout    = 10 * time.Minute
	// DefaultIsolationEvents bounds each isolation round: the phase
	// compares two rates, which a smaller round measures as well, and it
	// runs two rounds plus the retries of the failing destination.
	DefaultIsolationEvents = 20_000
)

// DefaultRuleCounts are the rule counts of the pipeline phase, in ABBA
// order: single runs of one count differed by up to a quarter with their
// place in the phase alone, so each count runs once early and once late
// and the targets compare the means.
var DefaultRuleCounts = []int{100, 10_000, 10_000, 100}

// Config sets what a benchmark run measures and how large it is.
type Config struct {
	// Events is the count of HTTP requests, NATS publishes, pipeline
	// events and raw JetStream messages.
	Events int
	// IsolationEvents is the count of events of each isolation round;
	// zero means DefaultIsolationEvents or Events, whichever is less.
	IsolationEvents int
	// Phases to run; empty means AllPhases.
	Phases []string
	// Modes to run in, ModeDev and ModeProcesses; empty means ModeDev.
	Modes []string
	// RedisURL, when set, adds a run of each mode with Redis on. It must
	// name a loopback host, and each run keeps its keys under a prefix
	// of its own.
	RedisURL string
	// NATSURL selects an external NATS server for every run, under a
	// fresh topology prefix; empty starts an embedded server per run.
	NATSURL string
	// BinDir holds the service binaries for ModeProcesses.
	BinDir string
	// Connections is the count of HTTP connections of the ingest phase.
	Connections int
	// RuleCounts are the rule counts of the pipeline phase, one run
	// each, in order. A count that comes again runs on the same bus and
	// rules. The first count is also the latency phase's.
	RuleCounts []int
	// LatencyRate, in events a second, and LatencyDuration shape the
	// latency phase.
	LatencyRate     int
	LatencyDuration time.Duration
	// PhaseTimeout bounds each phase, setup included.
	PhaseTimeout time.Duration
	// CPUProfile, when set, receives a CPU profile of the first dev run.
	CPUProfile string
	// Logger receives progress. Required.
	Logger *slog.Logger
	// ServiceLogger receives the services' records in dev mode; nil
	// means Logger.
	ServiceLogger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Events <= 0 {
		c.Events = DefaultEvents
	}
	if c.IsolationEvents <= 0 {
		c.IsolationEvents = min(c.Events, DefaultIsolationEvents)
	}
	if len(c.Phases) == 0 {
		c.Phases = AllPhases
	}
	if len(c.Modes) == 0 {
		c.Modes = []string{ModeDev}
	}
	if c.Connections <= 0 {
		c.Connections = DefaultConnections
	}
	if len(c.RuleCounts) == 0 {
		c.RuleCounts = DefaultRuleCounts
	}
	if c.LatencyRate <= 0 {
		c.LatencyRate = DefaultLatencyRate
	}
	if c.LatencyDuration <= 0 {
		c.LatencyDuration = DefaultLatencyDuration
	}
	if c.PhaseTimeout <= 0 {
		c.PhaseTimeout = DefaultPhaseTimeout
	}
	if c.ServiceLogger == nil {
		c.ServiceLogger = c.Logger
	}
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	for _, p := range c.Phases {
		if !slices.Contains(AllPhases, p) {
			return fmt.Errorf("unknown phase %q: want some of %s", p, strings.Join(AllPhases, ","))
		}
	}
	for _, m := range c.Modes {
		if m != ModeDev && m != ModeProcesses {
			return fmt.Errorf("unknown mode %q: want %s or %s", m, ModeDev, ModeProcesses)
		}
	}
	if slices.Contains(c.Modes, ModeProcesses) && c.BinDir == "" {
		return errors.New("processes mode needs the folder of the service binaries")
	}
	if c.Logger == nil {
		return errors.New("missing logger")
	}
	if err := checkLoopback(c.RedisURL); err != nil {
		return err
	}
	if c.Events < 2 {
		return fmt.Errorf("invalid --events %d: want at least 2", c.Events)
	}
	return nil
}

// Run measures the configured phases in each mode and returns the
// report. A phase that fails is recorded in its run's Errors and the
// others still run; Run itself fails only on invalid configuration or
// when the CPU profile cannot be written.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	rep := &Report{
		Time:       time.Now().UTC(),
		Machine:    machine(),
		Events:     cfg.Events,
		Phases:     cfg.Phases,
		CPUProfile: cfg.CPUProfile,
	}
	profiled := false
	for _, mode := range cfg.Modes {
		for _, redisURL := range redisChoices(cfg) {
			profile := cfg.CPUProfile != "" && mode == ModeDev && !profiled
			run, err := runProfiled(ctx, cfg, mode, redisURL, profile)
			if err != nil {
				return rep, err
			}
			profiled = profiled || profile
			rep.Runs = append(rep.Runs, run)
		}
	}
	rep.Targets = checkTargets(rep)
	rep.Shares = checkShares(rep)
	return rep, nil
}

// redisChoices returns the Redis URLs to run each mode with: none, and
// cfg.RedisURL when set.
func redisChoices(cfg Config) []string {
	if cfg.RedisURL == "" {
		return []string{""}
	}
	return []string{"", cfg.RedisURL}
}

// runProfiled measures one run, under a CPU profile when asked.
func runProfiled(ctx context.Context, cfg Config, mode, redisURL string, profile bool) (
	*RunResult, error) {
	if !profile {
		return runMode(ctx, cfg, mode, redisURL), nil
	}
	f, err := os.Create(cfg.CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	run := runMode(ctx, cfg, mode, redisURL)
	pprof.StopCPUProfile()
	return run, nil
}

// runMode starts Switchyard in one mode, with Redis when redisURL is
// set, and runs each phase with its own timeout.
func runMode(ctx context.Context, cfg Config, mode, redisURL string) *RunResult {
	run := &RunResult{Mode: mode, Redis: redisURL != "", Errors: map[string]string{}, LoadBefore: loadAverage()}
	defer func() { run.LoadAfter = loadAverage() }()
	log := cfg.Logger.With("mode", mode, "redis", run.Redis)
	log.Info("starting Switchyard")

	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	e, err := startEnv(startCtx, cfg, mode, redisURL)
	cancel()
	if err != nil {
		run.Errors["start"] = err.Error()
		log.Error("Switchyard did not start", "error", err)
		return run
	}
	defer e.close()

	for _, phase := range cfg.Phases {
		log.Info("phase started", "phase", phase)
		phaseCtx, cancel := context.WithTimeout(ctx, cfg.PhaseTimeout)
		err := runPhase(phaseCtx, e, cfg, phase, run)
		cancel()
		if err != nil {
			run.Errors[phase] = err.Error()
			log.Error("phase failed", "phase", phase, "error", err)
			continue
		}
		log.Info("phase finished", "phase", phase)
	}
	return run
}

func runPhase(ctx context.Context, e *env, cfg Config, phase string, run *RunResult) error {
	var err error
	switch phase {
	case PhaseIngest:
		run.Ingest, err = runIngest(ctx, e, cfg)
	case PhasePipeline:
		run.Pipeline, err = runPipelines(ctx, e, cfg)
	case PhaseLatency:
		run.Latency, err = runLatency(ctx, e, cfg)
	case PhaseIsolation:
		run.Isolation, err = runIsolation(ctx, e, cfg)
	case PhaseLimit:
		run.Limit, err = runLimit(ctx, e, cfg)
	}
	return err
}

func machine() Machine {
	return Machine{
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		GoVersion: runtime.Version(),
	}
}

// cpuModel reads the processor name from /proc/cpuinfo, or returns ""
// where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// loadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "" where there is none. A run on a busy machine
// measures its share of the CPUs, not Switchyard alone.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

// checkLoopback rejects a Redis URL whose host is not a loopback
// address, because the benchmark sends load only to this machine.
func checkLoopback(redisURL string) error {
	if redisURL == "" {
		return nil
	}
	u, err := url.Parse(redisURL)
	if err != nil {
		return fmt.Errorf("invalid Redis URL: %w", err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("invalid Redis URL host %q: use a loopback address such as 127.0.0.1", host)
	}
	return nil
}
