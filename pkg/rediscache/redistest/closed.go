package redistest

import (
	"net"
	"testing"
)

// ClosedAddr returns a 127.0.0.1 address that nothing listens on: it
// binds a free port and closes it again. Another process could take the
// port in between, which is unlikely within one test.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
