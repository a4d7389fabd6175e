package natsconn

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

func TestRedactHidesPasswords(t *testing.T) {
	got := redact("nats://alice:s3cret@127.0.0.1:4222, nats://127.0.0.1:4223")
	if strings.Contains(got, "s3cret") {
		t.Errorf("redact kept the password: %s", got)
	}
	if !strings.Contains(got, "alice") || !strings.Contains(got, "127.0.0.1:4223") {
		t.Errorf("redact lost the user or a server: %s", got)
	}
}

func TestConnectErrorNamesServer(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	_, err := Connect("nats://bob:pw@127.0.0.1:1", "test", log)
	if err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %q does not name the server", err)
	}
	if strings.Contains(err.Error(), "pw@") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestConnectLogsLostConnection(t *testing.T) {
	srv := natstest.Start(t)
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	nc, err := Connect(srv.URL, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "NATS connection restored") {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect logged within 10 s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "NATS connection lost") {
		t.Errorf("log has no line for the lost connection:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer that the connection's callbacks may write
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
