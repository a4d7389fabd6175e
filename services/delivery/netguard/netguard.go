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

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// ErrRejected is wrapped by every error that rejects an address.
var ErrRejected = errors.New("address rejected")

// metadataAddrs are the cloud instance metadata endpoints (AWS, GCP and
// Azure use 169.254.169.254; AWS also serves fd00:ec2::254), which hand
// out the host's credentials.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
}

// Ranges a public connection rejects beyond what netip's predicates
// cover.
var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

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
	if !g.AllowMetadata && isMetadata(ip) {
		return g.reject(ip, "cloud metadata address")
	}
	if g.Network == v1.Network_NETWORK_PRIVATE {
		return nil
	}
	if kind := nonPublic(ip); kind != "" {
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

func isMetadata(ip netip.Addr) bool {
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

// nonPublic names the kind of a non-public address, or returns "".
func nonPublic(ip netip.Addr) string {
	switch {
	case ip.IsLoopback():
		return "loopback address"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified address"
	case ip.IsPrivate():
		// Covers 10/8, 172.16/12, 192.168/16 and fc00::/7.
		return "private address"
	case cgnat.Contains(ip):
		return "shared (CGNAT) address"
	case ip.IsLinkLocalUnicast():
		return "link-local address"
	case ip.IsMulticast() || ip == broadcast:
		return "multicast or broadcast address"
	}
	return ""
}

func networkName(n v1.Network) string {
	if n == v1.Network_NETWORK_PRIVATE {
		return "private"
	}
	return "public"
}
