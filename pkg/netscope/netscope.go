// Package netscope classifies IP addresses by the networks they reach.
// A connection on the public network may only reach public addresses:
// delivery checks every dialled address with it, and config checks the
// literal hosts of URLs when they are written.
package netscope

import (
	"net/netip"
	"strings"
)

// metadataAddrs are the cloud instance metadata endpoints (AWS, GCP and
// Azure use 169.254.169.254; AWS also serves fd00:ec2::254), which hand
// out the host's credentials.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
}

// Ranges that are not public beyond what netip's predicates cover.
var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

// IsMetadata reports whether ip is a cloud instance metadata endpoint.
// An IPv4-mapped IPv6 address counts as its IPv4 address.
func IsMetadata(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

// NonPublic returns the kind of a non-public address, such as
// "loopback address", or "" when ip is public. An IPv4-mapped IPv6
// address counts as its IPv4 address.
func NonPublic(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
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

// NonPublicHost returns the kind of a URL host that is a literal
// non-public IP address or the name localhost, or "" for any other
// host. host is as url.URL.Hostname returns it: without brackets, and
// with a zone for a scoped IPv6 address.
//
// Other names are not resolved here, because their addresses may change
// after the check; delivery checks each address it dials instead.
func NonPublicHost(host string) string {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return "loopback name"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	return NonPublic(ip)
}
