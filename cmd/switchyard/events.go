package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
)

// maxIngestResponse is the max number of response bytes read from ingest.
const maxIngestResponse = 1 << 20

// eventFlags are the flags of events put.
type eventFlags struct {
	bus             string
	eventType       string
	source          string
	id              string
	subject         string
	data            string
	dataContentType string
	event           string
}

// ingestResponse is the ingest service's response to a put: one entry per
// event, with either the stored event's id or why it was rejected. A
// request rejected as a whole has no entries, only an error.
type ingestResponse struct {
	FailedEntryCount int           `json:"failed_entry_count"`
	Entries          []ingestEntry `json:"entries"`
	ErrorCode        string        `json:"error_code,omitempty"`
	ErrorMessage     string        `json:"error_message,omitempty"`
}

type ingestEntry struct {
	EventID      string `json:"event_id,omitempty"`
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
}

func newEventsCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("events", "Put events on a bus, replay archived events")
	cmd.AddCommand(newEventsPutCommand(a))
	cmd.AddCommand(newEventsReplayCommand(a))
	return cmd
}

func newEventsPutCommand(a *app) *cobra.Command {
	f := &eventFlags{}
	cmd := &cobra.Command{
		Use:   "put --type TYPE --source SOURCE [flags]",
		Short: "Put one CloudEvent on a bus and print its id",
		Long: `Put one CloudEvent on a bus through the ingest service's HTTP API, in
structured mode (application/cloudevents+json). The id of the stored event
is printed alone, so ID=$(switchyard events put ...) works in scripts.

--event reads a whole CloudEvent as JSON; the other flags given replace its
attributes. Without --id the ingest service assigns one.`,
		Example: `  switchyard events put --type com.github.push --source /repos/app \
      --data '{"ref":"refs/heads/main","repository":{"name":"app"}}'
  switchyard events put --event @push.json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.build(a, cmd.Flags())
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := a.putEvent(ctx, f.bus, body)
			if err != nil {
				return err
			}
			return a.printPut(resp, cmd.Flags())
		},
	}

	fs := cmd.Flags()
	fs.StringVar(&f.bus, "bus", "default", "bus to put the event on")
	fs.StringVar(&f.eventType, "type", "", "event type, such as com.github.push")
	fs.StringVar(&f.source, "source", "", "event source, a URI reference such as /repos/app")
	fs.StringVar(&f.id, "id", "", "event id (default: assigned by the ingest service)")
	fs.StringVar(&f.subject, "subject", "", "event subject")
	fs.StringVar(&f.data, "data", "",
		"event data: the text itself, @FILE, or @- for standard input")
	fs.StringVar(&f.dataContentType, "data-content-type", "application/json",
		"media type of --data; JSON types require valid JSON")
	fs.StringVar(&f.event, "event", "", "whole CloudEvent as JSON: the text itself, @FILE, or @-")
	return cmd
}

// build returns the event as CloudEvents JSON.
func (f *eventFlags) build(a *app, fs *pflag.FlagSet) ([]byte, error) {
	ev := map[string]json.RawMessage{}
	if fs.Changed("event") {
		raw, err := a.readJSON("event", f.event)
		if err != nil {
			return nil, err
		}
		if kind := cloudevent.JSONKind(raw); kind != "an object" {
			return nil, usagef("%s must be one JSON object, got %s",
				describeSource("event", f.event), kind)
		}
		if e := cloudevent.CheckNumbers(raw, "$"); e != nil {
			return nil, usagef("invalid %s: %s", describeSource("event", f.event), e.Message)
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, usagef("invalid %s: %v", describeSource("event", f.event), err)
		}
	}

	attributes := []struct{ name, flag, value string }{
		{"type", "type", f.eventType},
		{"source", "source", f.source},
		{"id", "id", f.id},
		{"subject", "subject", f.subject},
	}
	for _, attr := range attributes {
		if fs.Changed(attr.flag) {
			ev[attr.name] = jsonString(attr.value)
		}
	}
	if _, ok := ev["specversion"]; !ok {
		ev["specversion"] = jsonString("1.0")
	}
	if ev["type"] == nil || ev["source"] == nil {
		return nil, usagef("events put needs --type and --source, or an --event that has them")
	}

	if err := f.setData(a, fs, ev); err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// setData sets the event's data and datacontenttype from the flags. Data
// of a JSON media type goes in as JSON, other text as a string, and bytes
// that are not UTF-8 as data_base64.
func (f *eventFlags) setData(a *app, fs *pflag.FlagSet, ev map[string]json.RawMessage) error {
	_, hasType := ev["datacontenttype"]
	if fs.Changed("data-content-type") || (fs.Changed("data") && !hasType) {
		ev["datacontenttype"] = jsonString(f.dataContentType)
	}
	if !fs.Changed("data") {
		return nil
	}

	var contentType string
	if err := json.Unmarshal(ev["datacontenttype"], &contentType); err != nil {
		return usagef("--event: datacontenttype is not a string")
	}

	delete(ev, "data")
	delete(ev, "data_base64")
	if isJSONMediaType(contentType) {
		data, err := a.readJSON("data", f.data)
		if err != nil {
			return usagef("%v (the data content type is %s)", err, contentType)
		}
		if e := cloudevent.CheckNumbers(data, "$.data"); e != nil {
			return usagef("invalid %s: %s", describeSource("data", f.data), e.Message)
		}
		ev["data"] = data
		return nil
	}

	data, err := a.readSource("data", f.data)
	if err != nil {
		return err
	}
	if utf8.Valid(data) {
		ev["data"] = jsonString(string(data))
	} else {
		ev["data_base64"] = jsonString(base64.StdEncoding.EncodeToString(data))
	}
	return nil
}

// isJSONMediaType reports whether data of this media type is JSON:
// application/json, text/json or a "+json" structured syntax suffix.
func isJSONMediaType(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mediaType == "application/json" || mediaType == "text/json" ||
		strings.HasSuffix(mediaType, "+json")
}

func jsonString(s string) json.RawMessage {
	data, _ := json.Marshal(s) // A string always encodes.
	return data
}

// putEvent posts a structured CloudEvent to the ingest service. An
// answer other than 200 is returned as a response when it has the ingest
// service's JSON shape, and as an error otherwise.
func (a *app) putEvent(ctx context.Context, bus string, body []byte) (*ingestResponse, error) {
	if err := checkIngestURL(a.ingestURL); err != nil {
		return nil, err
	}
	target := strings.TrimRight(a.ingestURL, "/") + "/v1/buses/" + url.PathEscape(bus) + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, usagef("invalid --ingest-url %q: %v", a.ingestURL, err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, hintError{fmt.Errorf("put event: %w", err),
			fmt.Sprintf("is `switchyard dev` running? --ingest-url is %s", a.ingestURL)}
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIngestResponse))
	if err != nil {
		return nil, fmt.Errorf("put event: read the response of %s: %w", target, err)
	}

	var result ingestResponse
	err = json.Unmarshal(data, &result)
	if err == nil && len(result.Entries) == 0 && result.ErrorCode != "" {
		return nil, requestRejected(result)
	}
	if err != nil || len(result.Entries) == 0 {
		return nil, fmt.Errorf("put event: %s responded %s: %s", target, resp.Status, snippet(data))
	}
	return &result, nil
}

// requestRejected returns the error for a put that ingest rejected as a
// whole, with its message in place of the HTTP response.
func requestRejected(result ingestResponse) error {
	switch result.ErrorCode {
	case ingestInvalidBusName:
		return usagef("invalid --bus: %s (%s)", result.ErrorMessage, result.ErrorCode)
	case ingestUnknownBus:
		return hintError{
			err:  fmt.Errorf("put event: %s (%s)", result.ErrorMessage, result.ErrorCode),
			hint: "`switchyard bus list` shows the buses that exist",
		}
	}
	return fmt.Errorf("put event: %s (%s)", result.ErrorMessage, result.ErrorCode)
}

// printPut prints the event id, or the ingest response in JSON, and
// turns a rejected event into an error.
func (a *app) printPut(resp *ingestResponse, fs *pflag.FlagSet) error {
	entry := resp.Entries[0]
	if a.jsonOutput() {
		if err := a.printJSON(resp); err != nil {
			return err
		}
	}

	if entry.ErrorCode != "" || entry.EventID == "" {
		return rejectedEvent(entry, fs)
	}
	if !a.jsonOutput() {
		fmt.Fprintln(a.out, entry.EventID)
	}
	return nil
}

// snippet returns the start of a body for an error message.
func snippet(data []byte) string {
	const max = 200
	s := strings.TrimSpace(string(data))
	if len(s) > max {
		s = s[:max] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
