package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hostileBody is a response body that would clear the screen, move
// the cursor home and overwrite the line if a terminal received it.
const hostileBody = "\x1b[2J\x1b[Hall builds passed\rOK\u202e\u009b31m"

// TestTextOutputEscapesStoredData dead-letters a delivery whose endpoint
// responds with terminal escapes, and reads it back with the CLI.
func TestTextOutputEscapesStoredData(t *testing.T) {
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(hostileBody))
	}))
	t.Cleanup(endpoint.Close)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, endpoint.URL)
	s.waitRuleLoaded(t, "default", "build-on-push")

	r := s.cli.run("events", "put", "--bus", "default", "--type", "com.github.push",
		"--source", pushSource, "--data", "@../../testdata/github-push-branch.json")
	r.wantCode(t, exitOK)
	eventID := trimLine(r.stdout)

	var id string
	waitFor(t, 30*time.Second, func() (bool, string) {
		r := s.cli.run("-o", "json", "dlq", "list")
		var resp struct {
			DeadLetters []struct {
				ID string `json:"id"`
			} `json:"dead_letters"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || len(resp.DeadLetters) == 0 {
			return false, "no dead letter yet: " + r.stdout + r.stderr
		}
		id = resp.DeadLetters[0].ID
		return true, ""
	})

	show := s.cli.run("dlq", "show", id)
	show.wantCode(t, exitOK)
	wantNoTerminalControls(t, "dlq show", show.stdout)
	want := `\x1b[2J\x1b[Hall builds passed\rOK\u202e\u009b31m`
	_, excerpt, _ := strings.Cut(show.stdout, "response excerpt:\n")
	excerpt, _, _ = strings.Cut(excerpt, "\n")
	if excerpt != want {
		t.Errorf("dlq show response excerpt = %q, want %q", excerpt, want)
	}

	deliveries := s.cli.run("deliveries", "get", eventID)
	deliveries.wantCode(t, exitOK)
	wantNoTerminalControls(t, "deliveries get", deliveries.stdout)

	raw := s.cli.run("-o", "json", "dlq", "show", id)
	raw.wantCode(t, exitOK)
	var got struct {
		ResponseExcerpt string `json:"response_excerpt"`
	}
	if err := json.Unmarshal([]byte(raw.stdout), &got); err != nil {
		t.Fatalf("dlq show -o json: %v\n%s", err, raw.stdout)
	}
	if got.ResponseExcerpt != hostileBody {
		t.Errorf("JSON response_excerpt = %q, want the body unchanged, %q", got.ResponseExcerpt, hostileBody)
	}
}

// wantNoTerminalControls fails when text holds a character, other than
// newline and tab, that a terminal acts on.
func wantNoTerminalControls(t *testing.T, what, text string) {
	t.Helper()
	for _, r := range text {
		if r != '\n' && r != '\t' && isTerminalControl(r, false) {
			t.Errorf("%s output holds %U:\n%q", what, r, text)
			return
		}
	}
}

func TestEscapeText(t *testing.T) {
	tests := []struct {
		in, oneLine, lines string
	}{
		{"plain text, ünïcode ✓", "plain text, ünïcode ✓", "plain text, ünïcode ✓"},
		{"a\nb\tc", `a\nb\tc`, "a\nb\tc"},
		{"\x1b[31mred\r", `\x1b[31mred\r`, `\x1b[31mred\r`},
		{"del\x7f nul\x00", `del\x7f nul\x00`, `del\x7f nul\x00`},
		{"c1 \u009b bidi \u202e\u2066", `c1 \u009b bidi \u202e\u2066`, `c1 \u009b bidi \u202e\u2066`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`, `bad \xff\xfe utf-8`},
	}
	for _, tt := range tests {
		if got := escapeText(tt.in, false); got != tt.oneLine {
			t.Errorf("escapeText(%q, false) = %q, want %q", tt.in, got, tt.oneLine)
		}
		if got := escapeText(tt.in, true); got != tt.lines {
			t.Errorf("escapeText(%q, true) = %q, want %q", tt.in, got, tt.lines)
		}
	}
}
