package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/services/ingest"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestRuleTestTransformFillsLikeIngest previews the walk-through's rule,
// whose target sends the whole event, for an event without id and time.
func TestRuleTestTransformFillsLikeIngest(t *testing.T) {
	_, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)

	event := `{"specversion":"1.0","source":"/github","type":"com.github.push","data":{"ref":"x"}}`
	before := time.Now().UTC()
	r := s.cli.run("-o", "json", "rule", "test-transform", "--rule", "build-on-push", "--event", event)
	r.wantCode(t, exitOK)

	var out struct{ Requests []requestPreview }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Requests) != 1 {
		t.Fatalf("stdout = %q (%v), want one request", r.stdout, err)
	}
	var sent struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(out.Requests[0].Body), &sent); err != nil {
		t.Fatalf("body %q: %v", out.Requests[0].Body, err)
	}
	if !uuidPattern.MatchString(sent.ID) {
		t.Errorf("filled id = %q, want a random UUID as ingest fills", sent.ID)
	}
	if sent.Time.Before(before.Truncate(time.Second)) || sent.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("filled time = %s, want the time of the command, about %s", sent.Time, before)
	}
	wantNote := "filled the missing id and time as ingest does: id " + sent.ID + ", time "
	if !strings.HasPrefix(r.stderr, wantNote) {
		t.Errorf("stderr = %q, want it to start with %q", r.stderr, wantNote)
	}

	complete := `{"specversion":"1.0","id":"e1","source":"/github","type":"com.github.push",` +
		`"time":"2026-12-04T10:00:00Z"}`
	r = s.cli.run("rule", "test-transform", "--rule", "build-on-push", "--event", complete)
	r.wantCode(t, exitOK)
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing for an event with id and time", r.stderr)
	}
}

// TestRuleTestTransformRejectsLikeIngest puts each invalid event to the
// real ingest first, and wants the preview to fail with its message.
func TestRuleTestTransformRejectsLikeIngest(t *testing.T) {
	_, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	createWalkthroughConfig(t, s.cli, jenkinsURL)

	for name, event := range map[string]string{
		"blank source":         `{"specversion":"1.0","source":" ","type":"t"}`,
		"missing type":         `{"specversion":"1.0","source":"/s"}`,
		"bad time":             `{"specversion":"1.0","source":"/s","type":"t","time":"yesterday"}`,
		"number out of range":  `{"specversion":"1.0","source":"/s","type":"t","data":{"n":1e400}}`,
		"upper case extension": `{"specversion":"1.0","source":"/s","type":"t","Team":"a"}`,
	} {
		t.Run(name, func(t *testing.T) {
			want := putRejected(t, s.cli.ingest, event)
			r := s.cli.run("rule", "test-transform", "--rule", "build-on-push", "--event", event)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr = %q, want ingest's message %q", r.stderr, want)
			}
		})
	}
}

// putRejected puts event to ingest over HTTP, and returns the code and
// message of its rejection as "CODE: message".
func putRejected(t *testing.T, ingestURL, event string) string {
	t.Helper()
	resp, err := http.Post(ingestURL+"/v1/buses/default/events",
		"application/cloudevents+json", strings.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out ingest.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || out.ErrorCode == "" {
		t.Fatalf("ingest answered %d %+v, want 400 with an error", resp.StatusCode, out)
	}
	return out.ErrorCode + ": " + out.ErrorMessage
}
