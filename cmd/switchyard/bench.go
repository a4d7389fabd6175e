package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/bench"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
)

const benchLong = `bench measures Switchyard on this machine against the limit of its NATS
server. It starts the services itself, in one process as dev does
(--mode dev) or as the four binaries from --bin (--mode processes), each
run on an embedded NATS server of its own unless --nats-url is given, and
sends load to 127.0.0.1 only. Phases:

  ingest     HTTP POSTs of 1 KB CloudEvents over 64 connections, and
             JetStream publishes to ingest.<bus> until stored in EVENTS
  pipeline   --events events through all four services to a local HTTP
             endpoint, with 100, 10,000, 10,000 and 100 rules (ABBA
             order, so each count runs once early and once late; the
             targets compare each count's mean)
  latency    publish-to-endpoint latency at --latency-rate events a second
             for --latency-duration
  isolation  a healthy destination's throughput beside one answering 503
  limit      raw JetStream: publish, relay to a second stream, ack; then
             the raw shaped flow, the JetStream and HTTP work of the
             design for each event (three streams, a record created,
             read and updated, a POST) without the services' logic

Each pipeline run reports the longest time between two deliveries, which
shows a stall, and the CPU time per event: of the four service processes
in processes mode, and of the whole bench process (services, NATS server,
load generator and endpoint) in dev mode.

With --redis, each mode runs a second time with delivery's caches and
rate limits in that Redis server, under a key prefix of the run's own.
Every phase stops after --phase-timeout. The report goes to --out as JSON and
into the sections of --markdown that the tool owns. Exit status 1 means a
phase failed; its error is in the report. A missed target is not an
error: the report lists each target with the ratio achieved, and the
shares of the pipeline and the raw flows, which have no target.`

// benchFlags are the flags of switchyard bench.
type benchFlags struct {
	events          int
	isolationEvents int
	latencyRate     int
	latencyDuration time.Duration
	phaseTimeout    time.Duration
	phases          []string
	mode            string
	redisURL        string
	natsURL         string
	binDir          string
	out             string
	markdown        string
	cpuProfile      string
}

func newBenchCommand(a *app) *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the whole pipeline against the limit of this machine",
		Long:  benchLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runBench(cmd, f) },
	}
	fs := cmd.Flags()
	fs.IntVar(&f.events, "events", bench.DefaultEvents,
		"events per pipeline run, HTTP requests and NATS publishes of the ingest phase, "+
			"and messages of the limit phase")
	fs.IntVar(&f.isolationEvents, "isolation-events", 0,
		"events per isolation round; 0 means 20000 or --events, whichever is less")
	fs.IntVar(&f.latencyRate, "latency-rate", bench.DefaultLatencyRate,
		"events a second of the latency phase")
	fs.DurationVar(&f.latencyDuration, "latency-duration", bench.DefaultLatencyDuration,
		"how long the latency phase sends, such as 10s")
	fs.DurationVar(&f.phaseTimeout, "phase-timeout", bench.DefaultPhaseTimeout,
		"time limit of each phase, setup included")
	fs.StringSliceVar(&f.phases, "phases", bench.AllPhases,
		"comma-separated phases to run: "+strings.Join(bench.AllPhases, ","))
	fs.StringVar(&f.mode, "mode", "dev", "how to run the services: dev, processes or both")
	fs.StringVar(&f.redisURL, "redis", "",
		"loopback Redis URL for an extra run of each mode with Redis on; empty runs without")
	fs.StringVar(&f.natsURL, "nats-url", "",
		"external NATS server, used under a fresh prefix; empty starts one per run")
	fs.StringVar(&f.binDir, "bin", a.envOr("SWITCHYARD_BIN", "bin"),
		"folder of the service binaries for --mode processes (env SWITCHYARD_BIN)")
	fs.StringVar(&f.out, "out", "docs/benchmarks.json", "file for the JSON report; empty skips it")
	fs.StringVar(&f.markdown, "markdown", "docs/benchmarks.md",
		"benchmarks page to update; empty skips it")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "file for a CPU profile of the dev run")
	return cmd
}

// benchModes maps --mode to the modes to run.
var benchModes = map[string][]string{
	"dev":       {bench.ModeDev},
	"processes": {bench.ModeProcesses},
	"both":      {bench.ModeDev, bench.ModeProcesses},
}

func (a *app) runBench(cmd *cobra.Command, f *benchFlags) error {
	modes, ok := benchModes[f.mode]
	if !ok {
		return usagef("invalid --mode %q: want %s", f.mode,
			strings.Join(slices.Sorted(maps.Keys(benchModes)), ", "))
	}
	progress, err := telemetry.NewLogger(a.err, "text", slog.LevelInfo)
	if err != nil {
		return err
	}
	// The isolation phase makes the services warn about each dead letter
	// on purpose, so only their errors are shown.
	services, err := telemetry.NewLogger(a.err, "text", slog.LevelError)
	if err != nil {
		return err
	}

	cfg := bench.Config{
		Events:          f.events,
		IsolationEvents: f.isolationEvents,
		LatencyRate:     f.latencyRate,
		LatencyDuration: f.latencyDuration,
		PhaseTimeout:    f.phaseTimeout,
		Phases:          f.phases,
		Modes:           modes,
		RedisURL:        f.redisURL,
		NATSURL:         f.natsURL,
		BinDir:          f.binDir,
		CPUProfile:      f.cpuProfile,
		Logger:          progress,
		ServiceLogger:   services,
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err: err, help: true}
	}

	// A report that cannot be written would be lost after a run of many
	// minutes, so the files are checked first.
	for _, path := range []string{f.out, f.markdown} {
		if err := checkWritable(path); err != nil {
			return err
		}
	}

	rep, err := bench.Run(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	if err := writeBenchReport(f, rep); err != nil {
		return err
	}
	return a.printBenchSummary(rep)
}

func writeBenchReport(f *benchFlags, rep *bench.Report) error {
	if f.out != "" {
		if err := bench.WriteJSON(f.out, rep); err != nil {
			return fmt.Errorf("write %s: %w", f.out, err)
		}
	}
	if f.markdown != "" {
		if err := bench.WriteMarkdown(f.markdown, rep); err != nil {
			return fmt.Errorf("write %s: %w", f.markdown, err)
		}
	}
	return nil
}

// printBenchSummary prints each run's rates, each target check with
// the figures behind it, and each share, and returns an error naming the
// phases that failed.
func (a *app) printBenchSummary(rep *bench.Report) error {
	for _, run := range rep.Runs {
		if line := rateLine(run); line != "" {
			fmt.Fprintf(a.out, "%-18s %s\n", run.Name(), line)
		}
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(a.out, "Targets:")
	}
	for _, t := range rep.Targets {
		printSummaryLine(a.out, t.Run, t.Summary(), t.Basis)
	}
	if len(rep.Shares) > 0 {
		fmt.Fprintln(a.out, "Shares, with no target:")
	}
	for _, s := range rep.Shares {
		printSummaryLine(a.out, s.Run, s.Summary(), s.Basis)
	}

	var failed []string
	for _, run := range rep.Runs {
		for _, phase := range slices.Sorted(maps.Keys(run.Errors)) {
			failed = append(failed, run.Name()+" "+phase+": "+run.Errors[phase])
		}
	}
	if len(failed) > 0 {
		return errors.New("benchmark phases failed:\n  " + strings.Join(failed, "\n  "))
	}
	return nil
}

// printSummaryLine prints one check or share, with its basis indented on
// the next line when it has one.
func printSummaryLine(w io.Writer, run, summary, basis string) {
	fmt.Fprintf(w, "%-18s %s\n", run, summary)
	if basis != "" {
		fmt.Fprintf(w, "%-18s   %s\n", "", basis)
	}
}

// checkWritable returns an error when the report file at path could not
// be written, because its folder is missing or not writable. An empty
// path is skipped.
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".switchyard-bench-*")
	if err != nil {
		return fmt.Errorf("cannot write the report to %s: %w; "+
			"create the folder or choose another path", path, err)
	}
	name := probe.Name()
	probe.Close()
	return os.Remove(name)
}

// rateLine sums up the rates a run measured, in the order of the phases.
func rateLine(run *bench.RunResult) string {
	var parts []string
	if in := run.Ingest; in != nil {
		parts = append(parts, fmt.Sprintf("ingest %.0f requests/s, p99 %.1f ms",
			in.HTTPRequestsPerSecond, in.HTTPLatency.P99))
	}
	for _, p := range run.Pipeline {
		parts = append(parts, fmt.Sprintf("round %d, %d rules %.0f events/s",
			p.Round, p.Rules, p.EventsPerSecond))
	}
	if l := run.Limit; l != nil {
		parts = append(parts, fmt.Sprintf("raw JetStream %.0f messages/s", l.EventsPerSecond))
		if sh := l.Shaped; sh != nil {
			parts = append(parts, fmt.Sprintf("raw shaped flow %.0f events/s", sh.EventsPerSecond))
		}
	}
	if l := run.Latency; l != nil {
		parts = append(parts, fmt.Sprintf("latency p99 %.1f ms", l.Latency.P99))
	}
	if iso := run.Isolation; iso != nil {
		parts = append(parts, fmt.Sprintf("healthy share %.2f", iso.Share))
	}
	return strings.Join(parts, "; ")
}
