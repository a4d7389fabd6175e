package natsserver

import (
	"net"
	"strings"
	"testing"
)

func TestStartTakenPort(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	port := lis.Addr().(*net.TCPAddr).Port

	_, err = Start(Config{Host: "127.0.0.1", Port: port, StoreDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start on a taken port = nil error, want one")
	}
	if !strings.Contains(err.Error(), "cannot listen") {
		t.Errorf("error = %q, want it to say the address cannot be used", err)
	}
}
