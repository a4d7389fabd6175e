// Package natstest gives each test its own JetStream: an embedded NATS
// server on a free port with a temporary store, or, when NATS_URL is
// set, the external server there with a topology prefix of its own.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natsserver"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// Server is a NATS server for one test.
type Server struct {
	// URL to connect to.
	URL string
	// Topology to use, unique to this test.
	Topology streams.Topology
	// Restart stops and starts the embedded server on the same port and
	// store. It is nil for an external server.
	Restart func(t testing.TB)
}

// Start returns an embedded server that the test's cleanup shuts down.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	ns, err := natsserver.Start(natsserver.Config{Host: "127.0.0.1", Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: ns.ClientURL(), Topology: streams.Topology{Prefix: uniquePrefix(t)}}

	// A restart keeps the port and the store, so clients reconnect to
	// the same URL and find their streams again.
	port := ns.Addr().(*net.TCPAddr).Port
	s.Restart = func(t testing.TB) {
		t.Helper()
		ns.Shutdown()
		ns.WaitForShutdown()
		ns, err = natsserver.Start(natsserver.Config{Host: "127.0.0.1", Port: port, StoreDir: dir})
		if err != nil {
			t.Fatalf("restart nats: %v", err)
		}
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return s
}

// External returns the server at NATS_URL with a fresh topology prefix,
// or skips the test, saying so, when NATS_URL is not set.
func External(t testing.TB) *Server {
	t.Helper()
	url := os.Getenv("NATS_URL")
	if url == "" {
		t.Skip("SKIPPED: NATS_URL is not set, so the test against an external NATS server did not run")
	}
	s := &Server{URL: url, Topology: streams.Topology{Prefix: uniquePrefix(t)}}
	t.Cleanup(func() { s.deleteStreams(t) })
	return s
}

// deleteStreams removes the streams and buckets of the test's topology
// from the external server, which outlives the test.
func (s *Server) deleteStreams(t testing.TB) {
	nc, err := nats.Connect(s.URL)
	if err != nil {
		t.Logf("clean up streams of prefix %s: %v", s.Topology.Prefix, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := streams.Delete(ctx, js, s.Topology); err != nil {
		t.Logf("clean up streams of prefix %s: %v", s.Topology.Prefix, err)
	}
}

// Connect opens a connection that the test's cleanup closes.
func (s *Server) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("connect to %s: %v", s.URL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func uniquePrefix(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}
