// Package natsserver runs an embedded NATS server with JetStream, the
// same server that runs as nats-server, inside a Switchyard process. It
// backs `switchyard dev` and the tests.
package natsserver

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server listens and stores.
type Config struct {
	// Host and Port to listen on. Port -1 picks a free port.
	Host string
	Port int
	// StoreDir holds the JetStream data.
	StoreDir string
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config) (*server.Server, error) {
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
