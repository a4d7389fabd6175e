package delivery

import (
	"fmt"
	"net"
	"net/http"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/netguard"
)

// clients holds one HTTP client per network kind, so connections are
// pooled across requests and every dial is checked by the guard of its
// network.
type clients struct {
	public  *http.Client
	private *http.Client
}

func newClients(cfg Config) *clients {
	return &clients{
		public:  newClient(netguard.Guard{Network: v1.Network_NETWORK_PUBLIC, AllowMetadata: cfg.AllowMetadata}, cfg),
		private: newClient(netguard.Guard{Network: v1.Network_NETWORK_PRIVATE, AllowMetadata: cfg.AllowMetadata}, cfg),
	}
}

// forNetwork returns the client of a connection's network. An
// unspecified network gets the public client, the stricter one.
func (c *clients) forNetwork(n v1.Network) *http.Client {
	if n == v1.Network_NETWORK_PRIVATE {
		return c.private
	}
	return c.public
}

// networkFix returns the end of a NETWORK_REFUSED reason, which names the
// change that lets the connection reach the address.
func networkFix(c *v1.Connection) string {
	if c.GetNetwork() == v1.Network_NETWORK_PRIVATE {
		return "; cloud metadata addresses are reachable only when the delivery service " +
			"(switchyard-delivery) runs with --allow-metadata-addresses"
	}
	return fmt.Sprintf("; use a public address, or, if the endpoint is "+
		"on your private network, run: switchyard connection update %s --network private",
		c.GetName())
}

func (c *clients) close() {
	c.public.CloseIdleConnections()
	c.private.CloseIdleConnections()
}

// newClient builds a client that never follows redirects and has no
// proxy: a proxy would dial on our behalf, out of the guard's sight.
// Timeouts come from each request's context.
func newClient(g netguard.Guard, cfg Config) *http.Client {
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   g.Control,
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.Concurrency * 2,
		MaxIdleConnsPerHost:   cfg.DestinationConcurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: traceTransport(transport),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
