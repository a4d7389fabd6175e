package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/cmd/switchyard/internal/stack"
	"github.com/switchyard-dev/switchyard/pkg/configclient"
	"github.com/switchyard-dev/switchyard/pkg/natsserver"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Modes of running the services.
const (
	ModeDev       = "dev"
	ModeProcesses = "processes"
)

// serviceBinaries are started in this order in processes mode; config
// comes first because the others look buses and rules up in it.
var serviceBinaries = []string{
	"switchyard-config",
	"switchyard-ingest",
	"switchyard-ruleengine",
	"switchyard-delivery",
}

// env is one running Switchyard under test, with the bench's own
// clients of it. Close stops what the env started, in reverse order.
type env struct {
	mode      string
	log       *slog.Logger
	natsURL   string
	topology  streams.Topology
	ingestURL string
	config    v1.ConfigServiceClient
	nc        *nats.Conn
	js        jetstream.JetStream
	dataDir   string
	// pids are the service processes in processes mode.
	pids []int
	// probe receives the events that tell when rules are loaded.
	probe *endpoint

	closers []func()
}

func (e *env) onClose(f func()) { e.closers = append(e.closers, f) }

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// startEnv starts Switchyard in the given mode on a NATS server of its
// own, or on cfg.NATSURL, with Redis when redisURL is set. A shared NATS
// or Redis server gets a fresh topology prefix, which delivery also puts
// in its Redis keys.
func startEnv(ctx context.Context, cfg Config, mode, redisURL string) (_ *env, err error) {
	e := &env{mode: mode, log: cfg.Logger}
	defer func() {
		if err != nil {
			e.close()
		}
	}()

	dir, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	e.dataDir = dir
	e.onClose(func() { _ = os.RemoveAll(dir) })
	if cfg.NATSURL != "" || redisURL != "" {
		e.topology = streams.Topology{Prefix: "bench" + randomHex(4)}
	}
	if cfg.NATSURL != "" {
		// Registered first, so it runs last, once the services stopped.
		e.onClose(func() { e.deleteStreams(cfg.NATSURL) })
	}

	switch mode {
	case ModeDev:
		err = e.startDev(ctx, cfg, redisURL)
	case ModeProcesses:
		err = e.startProcesses(ctx, cfg, redisURL)
	default:
		err = fmt.Errorf("unknown mode %q: want %s or %s", mode, ModeDev, ModeProcesses)
	}
	if err != nil {
		return nil, err
	}
	if err := e.connectClients(ctx); err != nil {
		return nil, err
	}
	if err := e.setUp(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// startDev runs the four services in this process, as `switchyard dev`
// does.
func (e *env) startDev(ctx context.Context, cfg Config, redisURL string) error {
	s, err := stack.Start(ctx, stack.Config{
		DataDir:       e.dataDir,
		NATSURL:       cfg.NATSURL,
		NATSListen:    "127.0.0.1:0",
		Prefix:        e.topology.Prefix,
		ConfigListen:  "127.0.0.1:0",
		IngestListen:  "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0",
		RedisURL:      redisURL,
		Logger:        cfg.ServiceLogger,
	})
	if err != nil {
		return fmt.Errorf("start the dev stack: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	e.onClose(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			cfg.Logger.Warn("dev stack stopped with an error", "error", err)
		}
		s.Close()
	})

	e.natsURL = s.NATSURL()
	e.ingestURL = "http://" + s.IngestAddr().String()
	return e.dialConfig(s.ConfigAddr().String())
}

// startProcesses runs the four service binaries from cfg.BinDir against
// an embedded NATS server started here, or cfg.NATSURL.
func (e *env) startProcesses(ctx context.Context, cfg Config, redisURL string) error {
	e.natsURL = cfg.NATSURL
	if e.natsURL == "" {
		ns, err := natsserver.Start(natsserver.Config{
			Host: "127.0.0.1", Port: -1, StoreDir: filepath.Join(e.dataDir, "jetstream"),
		})
		if err != nil {
			return err
		}
		e.onClose(func() { ns.Shutdown(); ns.WaitForShutdown() })
		e.natsURL = ns.ClientURL()
	}

	configAddr, err := freeAddr()
	if err != nil {
		return err
	}
	ingestAddr, err := freeAddr()
	if err != nil {
		return err
	}
	vars := []string{
		"NATS_URL=" + e.natsURL,
		"SWITCHYARD_PREFIX=" + e.topology.Prefix,
		"SWITCHYARD_SERVER=" + configAddr,
		"SWITCHYARD_SECRET_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		"SWITCHYARD_INTERNAL_TOKEN=" + randomHex(16),
		// Each binary serves /metrics on a fixed default port, which a
		// `make run` or another bench may hold.
		"SWITCHYARD_METRICS_LISTEN=127.0.0.1:0",
		// Set even when empty, so a REDIS_URL of the bench's own
		// environment does not turn Redis on.
		"REDIS_URL=" + redisURL,
	}
	args := map[string][]string{
		"switchyard-config": {"--listen", configAddr},
		"switchyard-ingest": {"--listen", ingestAddr},
	}
	for _, name := range serviceBinaries {
		if err := e.startProcess(cfg, name, vars, args[name]); err != nil {
			return err
		}
	}

	e.ingestURL = "http://" + ingestAddr
	if err := e.dialConfig(configAddr); err != nil {
		return err
	}
	if err := waitReady(ctx, e.ingestURL+"/readyz"); err != nil {
		return fmt.Errorf("%w\n%s", err, e.logTails())
	}
	return nil
}

// logTails returns the last lines of each service's log, to explain a
// start that failed.
func (e *env) logTails() string {
	const tail = 1024
	var b strings.Builder
	for _, name := range serviceBinaries {
		out, err := os.ReadFile(filepath.Join(e.dataDir, name+".log"))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", name, out[max(0, len(out)-tail):])
	}
	return b.String()
}

// startProcess starts one binary with its output in a log file of the
// data folder; closing the env stops it with SIGTERM, then SIGKILL after
// 15 s.
func (e *env) startProcess(cfg Config, name string, vars, args []string) error {
	logFile, err := os.Create(filepath.Join(e.dataDir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(cfg.BinDir, name), args...)
	cmd.Env = append(os.Environ(), vars...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s (run make build first, or set --bin): %w", name, err)
	}

	e.pids = append(e.pids, cmd.Process.Pid)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.onClose(func() {
		defer logFile.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cfg.Logger.Warn("service did not stop within 15s of SIGTERM; killing it", "service", name)
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return nil
}

func (e *env) dialConfig(addr string) error {
	conn, err := configclient.Dial(addr)
	if err != nil {
		return err
	}
	e.onClose(func() { _ = conn.Close() })
	e.config = v1.NewConfigServiceClient(conn)
	return nil
}

// connectClients connects the bench's own NATS client and waits until
// the config API serves.
func (e *env) connectClients(ctx context.Context) error {
	nc, err := nats.Connect(e.natsURL, nats.Name("switchyard-bench"))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", e.natsURL, err)
	}
	e.onClose(nc.Close)
	e.nc = nc
	e.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(maxPendingPublishes))
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return poll(ctx, func() (bool, string) {
		_, err := e.config.GetBus(ctx, &v1.GetBusRequest{Name: "default"})
		if err != nil {
			return false, "config API: " + err.Error()
		}
		return true, ""
	})
}

// waitReady polls a readiness URL until it responds 200.
func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return poll(ctx, func() (bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err.Error()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, url + ": " + resp.Status
	})
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24.
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// deleteStreams removes the run's streams and buckets from the shared
// server at url, which would otherwise keep every event of the run.
func (e *env) deleteStreams(url string) {
	nc, err := nats.Connect(url, nats.Name("switchyard-bench-cleanup"))
	if err != nil {
		e.log.Warn("delete the run's streams failed", "prefix", e.topology.Prefix, "error", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = streams.Delete(ctx, js, e.topology)
	}
	if err != nil {
		e.log.Warn("delete the run's streams failed", "prefix", e.topology.Prefix, "error", err)
	}
}
