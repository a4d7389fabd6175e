package natstest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// Cluster is a JetStream cluster of embedded servers for one test, as a
// production installation runs on several machines.
type Cluster struct {
	// URL lists every server, comma-separated, as nats.Connect takes it.
	URL string
	// Topology to use, unique to this test.
	Topology streams.Topology

	servers []*server.Server
}

// StartCluster starts n clustered JetStream servers on free ports, each
// with a store of its own, and waits until they have elected a
// JetStream meta leader. The test's cleanup shuts them down.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{Topology: streams.Topology{Prefix: uniquePrefix(t)}}

	// JetStream clustering needs every server's routes configured up
	// front, so the route ports are chosen before any server starts.
	// Another process could take one in between; the start then fails
	// with the port named rather than hanging.
	routes := make([]string, n)
	ports := make([]int, n)
	dirs := make([]string, n)
	for i := range n {
		ports[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
		dirs[i] = t.TempDir()
	}
	// Registered after the folders, so it runs before their removal.
	t.Cleanup(c.shutdown)

	urls := make([]string, 0, n)
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("switchyard-test-%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   dirs[i],
			NoSigs:     true,
			NoLog:      true,
			Cluster: server.ClusterOpts{
				Name: "switchyard-test",
				Host: "127.0.0.1",
				Port: ports[i],
			},
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
		}
		ns, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("cluster server %d: %v", i, err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("cluster server %d: not ready after 10s on route port %d", i, ports[i])
		}
		c.servers = append(c.servers, ns)
		urls = append(urls, ns.ClientURL())
	}
	c.URL = strings.Join(urls, ",")
	c.waitForMetaLeader(t)
	return c
}

// waitForMetaLeader polls until the cluster responds to JetStream requests,
// which it does only once its servers have elected a meta leader.
func (c *Cluster) waitForMetaLeader(t testing.TB) {
	t.Helper()
	nc := c.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster has no JetStream meta leader after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts down the server with the given name, as a machine of the
// cluster fails. Names are those that StreamInfo.Cluster reports.
func (c *Cluster) Stop(t testing.TB, name string) {
	t.Helper()
	for _, ns := range c.servers {
		if ns.Name() == name {
			ns.Shutdown()
			ns.WaitForShutdown()
			return
		}
	}
	t.Fatalf("no cluster server named %q", name)
}

// Connect opens a connection to the cluster that the test's cleanup
// closes. It reconnects to another server when its own stops.
func (c *Cluster) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect to %s: %v", c.URL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (c *Cluster) shutdown() {
	for _, ns := range c.servers {
		ns.Shutdown()
	}
	for _, ns := range c.servers {
		ns.WaitForShutdown()
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}
