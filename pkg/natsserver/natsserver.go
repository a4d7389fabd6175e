// Package natsserver runs an embedded NATS server with JetStream, the
// same server that runs as nats-server, inside a Switchyard process. It
// backs `switchyard dev` and the tests.
package natsserver

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config is the listen address and store folder of an embedded server.
type Config struct {
	// Host and Port to listen on. Port -1 picks a free port.
	Host string
	Port int
	// StoreDir holds the JetStream data.
	StoreDir string
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config) (*server.Server, error) {
	if err := checkFree(cfg.Host, cfg.Port); err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "switchyard-dev",
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 10s on %s:%d", cfg.Host, cfg.Port)
	}
	return ns, nil
}

// checkFree reports a taken address at once. The server itself only
// logs a failed bind and never becomes ready, which would surface as a
// time-out that names no cause.
func checkFree(host string, port int) error {
	if port <= 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("embedded nats: cannot listen on %s: %w; "+
			"stop what uses it or choose another address", addr, err)
	}
	return lis.Close()
}
