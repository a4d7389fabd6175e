package main

import "testing"

func TestParseFlagsEnvironment(t *testing.T) {
	for _, key := range []string{"SWITCHYARD_INGEST_LISTEN", "NATS_URL", "SWITCHYARD_SERVER", "SWITCHYARD_PREFIX",
		"SWITCHYARD_METRICS_LISTEN"} {
		t.Setenv(key, "")
	}
	t.Setenv("SWITCHYARD_INGEST_LISTEN", "127.0.0.1:7799")
	t.Setenv("SWITCHYARD_PREFIX", "staging")

	got, err := parseFlags([]string{"--server", "127.0.0.1:9999"})
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	want := options{
		listen:    "127.0.0.1:7799",
		metrics:   "127.0.0.1:7712",
		natsURL:   "nats://127.0.0.1:4222",
		server:    "127.0.0.1:9999",
		prefix:    "staging",
		logFormat: "text",
	}
	if got != want {
		t.Errorf("parseFlags = %+v, want %+v", got, want)
	}
}

func TestParseFlagsRejectsLogFormat(t *testing.T) {
	if _, err := parseFlags([]string{"--log-format", "xml"}); err == nil {
		t.Error("parseFlags(--log-format xml) = nil error, want one")
	}
}
