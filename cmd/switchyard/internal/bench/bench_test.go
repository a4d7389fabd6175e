package bench

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// smallConfig runs every phase at a few hundred events, so the harness
// stays working without the minutes a full run takes.
func smallConfig(t *testing.T, mode string) Config {
	return Config{
		Events:          300,
		Modes:           []string{mode},
		Connections:     8,
		RuleCounts:      []int{5, 50, 50, 5},
		LatencyRate:     300,
		LatencyDuration: time.Second,
		PhaseTimeout:    20 * time.Second,
		Logger:          slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		ServiceLogger: slog.New(slog.NewTextHandler(testWriter{t},
			&slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// testWriter sends log records to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestRunDevSmall(t *testing.T) {
	cfg := smallConfig(t, ModeDev)
	cfg.CPUProfile = filepath.Join(t.TempDir(), "cpu.pprof")
	rep := runSmall(t, cfg)

	if info, err := os.Stat(cfg.CPUProfile); err != nil || info.Size() == 0 {
		t.Errorf("CPU profile %s: %v, want a non-empty file", cfg.CPUProfile, err)
	}
	checkPage(t, rep)
}

func TestRunProcessesSmall(t *testing.T) {
	dir := os.Getenv("SWITCHYARD_BIN")
	if dir == "" {
		t.Skip("SKIPPED: processes mode needs the service binaries; " +
			"run make build and set SWITCHYARD_BIN, as make test does")
	}
	cfg := smallConfig(t, ModeProcesses)
	cfg.BinDir = dir
	runSmall(t, cfg)
}

func TestRunDevRedisSmall(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("SKIPPED: the run with Redis on needs REDIS_URL, such as redis://127.0.0.1:6379")
	}
	cfg := smallConfig(t, ModeDev)
	cfg.RedisURL = url
	cfg.Phases = []string{PhasePipeline}
	rep := runSmall(t, cfg)
	if got := rep.Runs[len(rep.Runs)-1]; !got.Redis {
		t.Errorf("last run has Redis off, want on")
	}
}

// runSmall runs cfg and checks that every phase it asks for measured
// something and lost nothing.
func runSmall(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := len(redisChoices(cfg))
	if len(rep.Runs) != want {
		t.Fatalf("got %d runs, want %d", len(rep.Runs), want)
	}
	for _, run := range rep.Runs {
		t.Run(run.Name(), func(t *testing.T) { checkRun(t, cfg, run) })
	}
	return rep
}

func checkRun(t *testing.T, cfg Config, run *RunResult) {
	for phase, msg := range run.Errors {
		t.Errorf("phase %s failed: %s", phase, msg)
	}
	phases := cfg.Phases
	if len(phases) == 0 {
		phases = AllPhases
	}
	for _, phase := range phases {
		switch phase {
		case PhaseIngest:
			in := run.Ingest
			if in == nil || in.HTTPRequestsPerSecond <= 0 || in.NATSEventsPerSecond <= 0 {
				t.Errorf("ingest = %+v, want HTTP and NATS rates above 0", in)
			}
		case PhasePipeline:
			checkPipeline(t, run.Pipeline, cfg)
		case PhaseLatency:
			checkLatency(t, run.Latency, cfg)
		case PhaseIsolation:
			checkIsolation(t, run.Isolation)
		case PhaseLimit:
			if run.Limit == nil || run.Limit.EventsPerSecond <= 0 {
				t.Errorf("limit = %+v, want a rate above 0", run.Limit)
			} else if sh := run.Limit.Shaped; sh == nil || sh.EventsPerSecond <= 0 {
				t.Errorf("raw shaped flow = %+v, want a rate above 0", sh)
			}
		}
	}
}

func checkPipeline(t *testing.T, results []PipelineResult, cfg Config) {
	t.Helper()
	if len(results) != len(cfg.RuleCounts) {
		t.Errorf("got %d pipeline results, want %d", len(results), len(cfg.RuleCounts))
	}
	for i, p := range results {
		if p.Round != i+1 {
			t.Errorf("pipeline result %d has round %d, want %d", i, p.Round, i+1)
		}
		if i < len(cfg.RuleCounts) && p.Rules != cfg.RuleCounts[i] {
			t.Errorf("pipeline round %d ran %d rules, want %d", p.Round, p.Rules, cfg.RuleCounts[i])
		}
		if p.EventsPerSecond <= 0 {
			t.Errorf("pipeline with %d rules: %v events/s, want above 0", p.Rules, p.EventsPerSecond)
		}
		if p.LongestGapSeconds < 0 || p.LongestGapSeconds > p.Seconds {
			t.Errorf("pipeline with %d rules: longest gap %v s, want 0 to the run's %v s",
				p.Rules, p.LongestGapSeconds, p.Seconds)
		}
		if p.CPU == nil || p.CPU.MicrosecondsPerEvent <= 0 {
			t.Errorf("pipeline with %d rules: CPU = %+v, want a time above 0", p.Rules, p.CPU)
		}
	}
}

func checkLatency(t *testing.T, l *LatencyResult, cfg Config) {
	t.Helper()
	if l == nil {
		t.Error("no latency result")
		return
	}
	want := int(float64(cfg.LatencyRate) * cfg.LatencyDuration.Seconds())
	if l.Latency.Count != want {
		t.Errorf("latency samples = %d, want %d", l.Latency.Count, want)
	}
	if l.Latency.P50 <= 0 || l.Latency.P50 > l.Latency.P99 || l.Latency.P99 > l.Latency.Max {
		t.Errorf("latency = %+v, want 0 < p50 <= p99 <= max", l.Latency)
	}
}

func checkIsolation(t *testing.T, iso *IsolationResult) {
	t.Helper()
	if iso == nil {
		t.Error("no isolation result")
		return
	}
	if iso.Lost != 0 {
		t.Errorf("isolation lost %d events, want 0", iso.Lost)
	}
	if got := iso.Delivered + iso.DeadLettered + iso.Waiting; got != iso.Accepted {
		t.Errorf("delivered + dead-lettered + waiting = %d, want accepted %d", got, iso.Accepted)
	}
	if iso.Answered503 == 0 {
		t.Error("the failing destination answered no 503")
	}
	if iso.Share <= 0 {
		t.Errorf("isolation share = %v, want above 0", iso.Share)
	}
}

// checkPage writes the report into a page twice and checks that each
// section appears once and that notes outside the generated blocks stay.
func checkPage(t *testing.T, rep *Report) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := WriteMarkdown(path, rep); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const note = "\nA note written by hand.\n"
	if err := os.WriteFile(path, append(page, note...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(path, rep); err != nil {
		t.Fatal(err)
	}
	page, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	for _, s := range sections {
		want := 0
		if slices.Contains(rep.Phases, s.marker) {
			want = 1
		}
		if got := strings.Count(string(page), "\n## "+s.title+"\n"); got != want {
			t.Errorf("section %q appears %d times, want %d", s.title, got, want)
		}
	}
	if !strings.Contains(string(page), note) {
		t.Error("the note outside the generated blocks was lost")
	}
	if err := WriteJSON(filepath.Join(t.TempDir(), "benchmarks.json"), rep); err != nil {
		t.Errorf("WriteJSON: %v", err)
	}
}

func TestRecorderSummary(t *testing.T) {
	var r recorder
	for i := 1; i <= 100; i++ {
		r.add(time.Duration(i) * time.Millisecond)
	}
	got := r.summary()
	want := Latencies{Count: 100, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Errorf("summary() = %+v, want %+v", got, want)
	}
	var empty recorder
	if got := empty.summary(); got != (Latencies{}) {
		t.Errorf("empty summary() = %+v, want zero", got)
	}
}

func TestReplaceSection(t *testing.T) {
	tests := []struct {
		name, page, want string
	}{
		{
			name: "missing section added",
			page: "# B\n",
			want: "# B\n\n## Latency\n\n<!-- bench:latency:begin -->\nnew\n<!-- bench:latency:end -->\n",
		},
		{
			name: "block replaced, notes kept",
			page: "## Latency\n\nbefore\n<!-- bench:latency:begin -->\nold\n" +
				"<!-- bench:latency:end -->\nafter\n## Matcher\nmine\n",
			want: "## Latency\n\nbefore\n<!-- bench:latency:begin -->\nnew\n" +
				"<!-- bench:latency:end -->\nafter\n## Matcher\nmine\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := replaceSection(tt.page, "Latency", "latency", "new\n"); got != tt.want {
				t.Errorf("replaceSection() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestNewEventSize(t *testing.T) {
	e := newEvent("id-1", "k1")
	if len(e) < eventSize-10 || len(e) > eventSize+10 {
		t.Errorf("len(newEvent) = %d, want about %d", len(e), eventSize)
	}
	sent, err := sentTime(e)
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(sent); age < 0 || age > time.Minute {
		t.Errorf("data.sent is %v old, want now", age)
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url    string
		wantOK bool
	}{
		{"", true},
		{"redis://127.0.0.1:6379", true},
		{"redis://localhost:6379/0", true},
		{"redis://[::1]:6379", true},
		{"redis://10.0.0.5:6379", false},
		{"redis://redis.example.com:6379", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := checkLoopback(tt.url)
			if got := err == nil; got != tt.wantOK {
				t.Errorf("checkLoopback(%q) = %v, want ok %v", tt.url, err, tt.wantOK)
			}
		})
	}
}

func TestMarkdownKeepsSectionsNotRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	old := "# Benchmarks\n\n## Latency\n\n<!-- bench:latency:begin -->\nfigures of an earlier run\n" +
		"<!-- bench:latency:end -->\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := &Report{Time: time.Now(), Phases: []string{PhaseLimit},
		Runs: []*RunResult{{Mode: ModeDev, Limit: &LimitResult{Events: 10, Seconds: 1, EventsPerSecond: 10}}}}
	if err := WriteMarkdown(path, rep); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "figures of an earlier run") {
		t.Errorf("the latency section of an earlier run was replaced:\n%s", page)
	}
	if !strings.Contains(string(page), "<!-- bench:limit:begin -->") {
		t.Errorf("the limit section that ran is missing:\n%s", page)
	}
}

// abbaRun is a run whose pipeline ran 100, 10,000, 10,000 and 100 rules
// beside both raw flows.
func abbaRun() *RunResult {
	return &RunResult{
		Mode: ModeDev,
		Pipeline: []PipelineResult{
			{Round: 1, Rules: 100, EventsPerSecond: 3000},
			{Round: 2, Rules: 10_000, EventsPerSecond: 3600},
			{Round: 3, Rules: 10_000, EventsPerSecond: 4000},
			{Round: 4, Rules: 100, EventsPerSecond: 5000},
		},
		Limit: &LimitResult{EventsPerSecond: 20_000,
			Shaped: &ShapedResult{EventsPerSecond: 8000}},
		Errors: map[string]string{},
	}
}

func findTarget(rep *Report, name string) *TargetCheck {
	for i := range rep.Targets {
		if rep.Targets[i].Name == name {
			return &rep.Targets[i]
		}
	}
	return nil
}

func findShare(rep *Report, name string) *Share {
	for i := range rep.Shares {
		if rep.Shares[i].Name == name {
			return &rep.Shares[i]
		}
	}
	return nil
}

func TestTargetsCompareRuleCountMeans(t *testing.T) {
	rep := &Report{Runs: []*RunResult{abbaRun()}}
	rep.Targets = checkTargets(rep)
	rep.Shares = checkShares(rep)

	raw := findTarget(rep, "pipeline / raw JetStream")
	if raw == nil {
		t.Fatal("no pipeline / raw JetStream target")
	}
	if raw.Value != 0.2 {
		t.Errorf("pipeline / raw JetStream = %v, want 0.2 (mean 4,000 over 20,000)", raw.Value)
	}
	if want := "100 rules: mean 4,000 events/s of 3,000 and 5,000; raw JetStream 20,000 messages/s"; raw.Basis != want {
		t.Errorf("basis = %q, want %q", raw.Basis, want)
	}
	if got, want := raw.Verdict(), "NOT MET, 0.40 of the target"; got != want {
		t.Errorf("verdict = %q, want %q", got, want)
	}

	many := findTarget(rep, "many rules / few rules")
	if many == nil {
		t.Fatal("no many rules / few rules target")
	}
	if many.Value != 0.95 {
		t.Errorf("many rules / few rules = %v, want 0.95 (3,800 over 4,000)", many.Value)
	}
	if got, want := many.Verdict(), "met, 1.06 times the target"; got != want {
		t.Errorf("verdict = %q, want %q", got, want)
	}

	if s := findShare(rep, "pipeline / raw shaped flow"); s == nil || s.Value != 0.5 {
		t.Errorf("pipeline / raw shaped flow = %+v, want 0.5 (4,000 over 8,000)", s)
	}
	if s := findShare(rep, "raw shaped flow / raw JetStream"); s == nil || s.Value != 0.4 {
		t.Errorf("raw shaped flow / raw JetStream = %+v, want 0.4 (8,000 over 20,000)", s)
	}
}

func TestTargetsSkipFailedPhase(t *testing.T) {
	failedPipeline := abbaRun()
	failedPipeline.Errors[PhasePipeline] = "bus bench-pipeline-100, round 4: deadline exceeded"
	failedLimit := abbaRun()
	failedLimit.Errors[PhaseLimit] = "raw shaped flow: tasks delivered: 10 of 300"
	tests := []struct {
		name    string
		run     *RunResult
		targets []string
		shares  []string
	}{
		{"pipeline failed", failedPipeline, nil, []string{"raw shaped flow / raw JetStream"}},
		{"limit failed", failedLimit, []string{"many rules / few rules"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Runs: []*RunResult{tt.run}}
			var targets, shares []string
			for _, c := range checkTargets(rep) {
				targets = append(targets, c.Name)
			}
			for _, s := range checkShares(rep) {
				shares = append(shares, s.Name)
			}
			if !slices.Equal(targets, tt.targets) {
				t.Errorf("targets = %q, want %q", targets, tt.targets)
			}
			if !slices.Equal(shares, tt.shares) {
				t.Errorf("shares = %q, want %q", shares, tt.shares)
			}
		})
	}
}
