// Package netguard checks each address that a connection dials against
// the connection's network. A destination on a public connection thus
// cannot reach the host itself or its private networks, not even
// through a DNS name that resolves to such an address.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/switchyard-dev/switchyard/pkg/netscope"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// ErrRejected is wrapped by every error that rejects an address.
var ErrRejected = errors.New("address rejected")

// Guard checks dialled addresses for one network kind. The zero value
// is a public guard that rejects metadata addresses.
type Guard struct {
	// Network of the connection. NETWORK_UNSPECIFIED is treated as
	// NETWORK_PUBLIC, the stricter choice.
	Network v1.Network
	// AllowMetadata lifts the rejection of metadata addresses. A public
	// guard still rejects them as link-local or unique-local addresses.
	AllowMetadata bool
}

// Check returns an error wrapping ErrRejected when the guard rejects ip.
func (g Guard) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	if !g.AllowMetadata && netscope.IsMetadata(ip) {
		return g.reject(ip, "cloud metadata address")
	}
	if g.Network == v1.Network_NETWORK_PRIVATE {
		return nil
	}
	if kind := netscope.NonPublic(ip); kind != "" {
		return g.reject(ip, kind)
	}
	return nil
}

// Control is a net.Dialer Control function. It runs after name
// resolution, once per address dialled, so it checks the real target.
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q: %v", ErrRejected, address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: dialled address %q is not an IP address", ErrRejected, host)
	}
	return g.Check(ip.WithZone(""))
}

func (g Guard) reject(ip netip.Addr, kind string) error {
	return fmt.Errorf("%w: %s is a %s, not allowed on a %s connection",
		ErrRejected, ip, kind, networkName(g.Network))
}

func networkName(n v1.Network) string {
	if n == v1.Network_NETWORK_PRIVATE {
		return "private"
	}
	return "public"
}
