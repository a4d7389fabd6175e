package netscope

import (
	"net/netip"
	"testing"
)

func TestNonPublic(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"93.184.216.34", ""},
		{"2606:4700::1111", ""},
		{"172.32.0.1", ""},
		{"127.0.0.1", "loopback address"},
		{"::1", "loopback address"},
		{"::ffff:127.0.0.1", "loopback address"},
		{"10.1.2.3", "private address"},
		{"172.16.0.1", "private address"},
		{"172.31.255.255", "private address"},
		{"192.168.1.1", "private address"},
		{"fc00::1", "private address"},
		{"100.64.0.1", "shared (CGNAT) address"},
		{"100.127.255.255", "shared (CGNAT) address"},
		{"169.254.1.1", "link-local address"},
		{"fe80::1", "link-local address"},
		{"fe80::1%eth0", "link-local address"},
		{"224.0.0.1", "multicast or broadcast address"},
		{"ff02::1", "multicast or broadcast address"},
		{"255.255.255.255", "multicast or broadcast address"},
		{"0.0.0.0", "unspecified address"},
		{"0.1.2.3", "unspecified address"},
		{"::", "unspecified address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := NonPublic(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("NonPublic(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestIsMetadata(t *testing.T) {
	for addr, want := range map[string]bool{
		"169.254.169.254":        true,
		"::ffff:169.254.169.254": true,
		"fd00:ec2::254":          true,
		"169.254.169.253":        false,
		"127.0.0.1":              false,
	} {
		if got := IsMetadata(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsMetadata(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestNonPublicHost(t *testing.T) {
	tests := []struct {
		host string
		want string
	}{
		{"localhost", "loopback name"},
		{"LocalHost.", "loopback name"},
		{"127.0.0.1", "loopback address"},
		{"::1", "loopback address"},
		{"192.168.0.10", "private address"},
		{"fe80::1%eth0", "link-local address"},
		{"93.184.216.34", ""},
		{"example.com", ""},
		{"localhost.example.com", ""},
		// netip does not parse the shorthand "127.1", so it counts as a
		// name, which delivery checks when it dials.
		{"127.1", ""},
	}
	for _, tt := range tests {
		if got := NonPublicHost(tt.host); got != tt.want {
			t.Errorf("NonPublicHost(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}
