package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

// serviceBinaries are the four services' binaries and the module folder
// that builds each, relative to this package.
var serviceBinaries = map[string]string{
	"switchyard-config":     "../../services/config",
	"switchyard-ingest":     "../../services/ingest",
	"switchyard-ruleengine": "../../services/ruleengine",
	"switchyard-delivery":   "../../services/delivery",
}

// binDir returns the folder holding the service binaries: SWITCHYARD_BIN
// when `make test` has built them there, or a fresh build.
func binDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("SWITCHYARD_BIN"); dir != "" {
		return dir
	}
	dir := t.TempDir()
	for name, module := range serviceBinaries {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = module
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func randomText(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// process is one service binary started by a test.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startProcess starts a binary; the test's cleanup stops it with SIGTERM
// and logs its output.
func startProcess(t *testing.T, dir, name string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(dir, name), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		t.Logf("output of %s:\n%s", name, p.out.String())
	})
	return p
}

func (p *process) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop within 15s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSeparateProcessesStartBuild(t *testing.T) {
	srv := natstest.External(t)
	dir := binDir(t)
	jenkins, jenkinsURL := startJenkins(t)

	configAddr := freeAddr(t)
	ingestAddr := freeAddr(t)
	env := []string{
		"NATS_URL=" + srv.URL,
		"SWITCHYARD_PREFIX=" + srv.Topology.Prefix,
		"SWITCHYARD_SERVER=" + configAddr,
		"SWITCHYARD_SECRET_KEY=" + base64.StdEncoding.EncodeToString(randomText(t, 32)),
		"SWITCHYARD_INTERNAL_TOKEN=" + hex.EncodeToString(randomText(t, 16)),
	}
	// Each binary also serves /metrics; port 0 keeps the test clear of a
	// running installation's default ports.
	metrics := []string{"--metrics-listen", "127.0.0.1:0"}
	startProcess(t, dir, "switchyard-config", env, append(metrics, "--listen", configAddr)...)
	c := cli{t: t, server: configAddr, ingest: "http://" + ingestAddr,
		env: map[string]string{"JENKINS_TOKEN": jenkinsToken}}
	waitFor(t, 30*time.Second, func() (bool, string) {
		r := c.run("bus", "get", "default")
		return r.code == exitOK, r.stderr
	})

	// The rule engine loads every rule before it takes the first event,
	// so creating the rule first leaves no race with its change notice.
	createWalkthroughConfig(t, c, jenkinsURL)
	startProcess(t, dir, "switchyard-ingest", env, append(metrics, "--listen", ingestAddr)...)
	startProcess(t, dir, "switchyard-ruleengine", env, metrics...)
	startProcess(t, dir, "switchyard-delivery", env, metrics...)
	waitFor(t, 30*time.Second, func() (bool, string) {
		resp, err := http.Get(c.ingest + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	r := c.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	waitDelivered(t, c, trimLine(r.stdout))

	natsEvent := cloudEvent(t, "procs-over-nats", readTestdata(t, "github-push-branch.json"))
	publishOverNATS(t, srv.URL, srv.Topology, "default", natsEvent)
	waitDelivered(t, c, "procs-over-nats")

	builds := buildRequests(jenkins)
	if len(builds) != 2 {
		t.Fatalf("Jenkins got %d build requests, want 2 (one per event)", len(builds))
	}
	for _, b := range builds {
		wantBasicAuth(t, b)
	}
}
