package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestCheck(t *testing.T) {
	public := Guard{Network: v1.Network_NETWORK_PUBLIC}
	private := Guard{Network: v1.Network_NETWORK_PRIVATE}
	unspecified := Guard{}
	privateWithMetadata := Guard{Network: v1.Network_NETWORK_PRIVATE, AllowMetadata: true}

	tests := []struct {
		addr  string
		guard Guard
		ok    bool
	}{
		{"93.184.216.34", public, true},
		{"2606:4700::1111", public, true},
		{"127.0.0.1", public, false},
		{"::1", public, false},
		{"::ffff:127.0.0.1", public, false},
		{"10.1.2.3", public, false},
		{"172.16.0.1", public, false},
		{"172.31.255.255", public, false},
		{"172.32.0.1", public, true},
		{"192.168.1.1", public, false},
		{"100.64.0.1", public, false},
		{"100.127.255.255", public, false},
		{"169.254.1.1", public, false},
		{"fe80::1", public, false},
		{"fc00::1", public, false},
		{"fd12:3456::1", public, false},
		{"224.0.0.1", public, false},
		{"ff02::1", public, false},
		{"0.0.0.0", public, false},
		{"::", public, false},
		{"255.255.255.255", public, false},
		{"127.0.0.1", unspecified, false},
		{"127.0.0.1", private, true},
		{"10.1.2.3", private, true},
		{"100.64.0.1", private, true},
		{"fd12:3456::1", private, true},
		{"169.254.169.254", public, false},
		{"169.254.169.254", private, false},
		{"fd00:ec2::254", private, false},
		{"::ffff:169.254.169.254", private, false},
		{"169.254.169.254", privateWithMetadata, true},
		{"fd00:ec2::254", privateWithMetadata, true},
	}
	for _, tt := range tests {
		name := tt.addr + " " + networkName(tt.guard.Network)
		t.Run(name, func(t *testing.T) {
			err := tt.guard.Check(netip.MustParseAddr(tt.addr))
			if got := err == nil; got != tt.ok {
				t.Fatalf("Check(%s) = %v, want allowed %v", tt.addr, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrRejected) {
				t.Errorf("Check(%s) = %v, want an error wrapping ErrRejected", tt.addr, err)
			}
		})
	}
}

func TestControlMetadata(t *testing.T) {
	for _, g := range []Guard{{Network: v1.Network_NETWORK_PUBLIC}, {Network: v1.Network_NETWORK_PRIVATE}} {
		err := g.Control("tcp4", "169.254.169.254:80", nil)
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("Control(169.254.169.254:80) on %s = %v, want ErrRejected",
				networkName(g.Network), err)
		}
		if !strings.Contains(err.Error(), "169.254.169.254") {
			t.Errorf("error %q does not name the address", err)
		}
		if !strings.Contains(err.Error(), networkName(g.Network)) {
			t.Errorf("error %q does not name the network", err)
		}
	}
}

func TestControlAddresses(t *testing.T) {
	g := Guard{Network: v1.Network_NETWORK_PRIVATE}
	if err := g.Control("tcp6", "[fe80::1%eth0]:443", nil); err != nil {
		t.Errorf("Control with zone on private = %v, want nil", err)
	}
	if err := g.Control("tcp", "not-an-address", nil); !errors.Is(err, ErrRejected) {
		t.Errorf("Control(not-an-address) = %v, want ErrRejected", err)
	}
	if err := g.Control("tcp", "example.com:80", nil); !errors.Is(err, ErrRejected) {
		t.Errorf("Control(example.com:80) = %v, want ErrRejected", err)
	}
}
