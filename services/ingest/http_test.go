package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
)

const testTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func sampleEvent(id string) map[string]any {
	return map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          "/ci/jenkins",
		"type":            "com.example.build.finished",
		"subject":         "job/deploy",
		"time":            "2026-12-04T10:00:00Z",
		"datacontenttype": "application/json",
		"data":            map[string]any{"job": "deploy", "number": float64(42)},
		"team":            "platform",
		"priority":        float64(5),
		"urgent":          true,
	}
}

// checkStored compares one stored EVENTS message with the event sent.
func checkStored(t *testing.T, got storedMsg, topo streams.Topology, bus string, want map[string]any) {
	t.Helper()
	if wantSubject := topo.EventsSubject(bus); got.subject != wantSubject {
		t.Errorf("subject = %q, want %q", got.subject, wantSubject)
	}
	source, _ := want["source"].(string)
	id, _ := want["id"].(string)
	if got, want := got.header.Get(streams.HeaderMsgID), streams.EventMsgID(bus, source, id); got != want {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, want)
	}
	if got := got.header.Get(streams.HeaderBus); got != bus {
		t.Errorf("bus header = %q, want %q", got, bus)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.header.Get(streams.HeaderIngestTime)); err != nil {
		t.Errorf("ingest time header: %v", err)
	}
	if event := decodeJSON(t, got.data); !reflect.DeepEqual(event, want) {
		t.Errorf("stored event = %v, want %v", event, want)
	}
}

func TestPutEventsStructured(t *testing.T) {
	h := start(t, newFakeBuses("orders"))
	for i, ct := range []string{
		"application/cloudevents+json",
		"application/cloudevents+json; charset=utf-8",
		"application/json",
	} {
		t.Run(ct, func(t *testing.T) {
			sent := sampleEvent(fmt.Sprintf("structured-%d", i))
			code, resp := h.post(t, "orders", contentType(ct), mustJSON(t, sent))
			if code != http.StatusOK {
				t.Fatalf("status = %d, want 200 (%+v)", code, resp)
			}
			want := Response{Entries: []ResultEntry{{EventID: sent["id"].(string)}}}
			if !reflect.DeepEqual(resp, want) {
				t.Errorf("response = %+v, want %+v", resp, want)
			}

			msgs := h.readStream(t, streams.Events)
			if len(msgs) != i+1 {
				t.Fatalf("EVENTS holds %d messages, want %d", len(msgs), i+1)
			}
			checkStored(t, msgs[i], h.topo, "orders", sent)
		})
	}
}

func TestPutEventsBinary(t *testing.T) {
	raw := []byte{0xff, 0x00, 0xfe, 'x'}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantData    map[string]any
	}{
		{
			name:        "json data",
			contentType: "application/json",
			body:        []byte(`{"job":"deploy","number":42}`),
			wantData: map[string]any{
				"datacontenttype": "application/json",
				"data":            map[string]any{"job": "deploy", "number": float64(42)},
			},
		},
		{
			name:        "text data",
			contentType: "text/plain",
			body:        []byte("build finished"),
			wantData:    map[string]any{"datacontenttype": "text/plain", "data": "build finished"},
		},
		{
			name:        "binary data",
			contentType: "application/octet-stream",
			body:        raw,
			wantData: map[string]any{
				"datacontenttype": "application/octet-stream",
				"data_base64":     base64.StdEncoding.EncodeToString(raw),
			},
		},
		{
			name:     "no data",
			wantData: map[string]any{},
		},
	}

	h := start(t, newFakeBuses())
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("binary-%d", i)
			header := http.Header{
				"Ce-Specversion": {"1.0"},
				"Ce-Id":          {id},
				"Ce-Source":      {"/ci/jenkins"},
				"Ce-Type":        {"com.example.build.finished"},
				"Ce-Subject":     {"job/deploy"},
				"Ce-Time":        {"2026-12-04T10:00:00Z"},
				"Ce-Team":        {"platform"},
			}
			if tt.contentType != "" {
				header.Set("Content-Type", tt.contentType)
			}
			code, resp := h.post(t, DefaultBus, header, tt.body)
			if code != http.StatusOK {
				t.Fatalf("status = %d, want 200 (%+v)", code, resp)
			}

			want := map[string]any{
				"specversion": "1.0",
				"id":          id,
				"source":      "/ci/jenkins",
				"type":        "com.example.build.finished",
				"subject":     "job/deploy",
				"time":        "2026-12-04T10:00:00Z",
				"team":        "platform",
			}
			for k, v := range tt.wantData {
				want[k] = v
			}
			msgs := h.readStream(t, streams.Events)
			if len(msgs) != i+1 {
				t.Fatalf("EVENTS holds %d messages, want %d", len(msgs), i+1)
			}
			checkStored(t, msgs[i], h.topo, DefaultBus, want)
		})
	}
}

func TestPutEventsBatch(t *testing.T) {
	h := start(t, newFakeBuses())
	sent := []map[string]any{sampleEvent("batch-1"), sampleEvent("batch-2"), sampleEvent("batch-3")}
	sent[1]["type"] = "com.example.build.started"
	delete(sent[2], "data")
	delete(sent[2], "datacontenttype")

	code, resp := h.post(t, DefaultBus, contentType(mediaBatch), mustJSON(t, sent))
	if code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}
	want := Response{Entries: []ResultEntry{{EventID: "batch-1"}, {EventID: "batch-2"}, {EventID: "batch-3"}}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response = %+v, want %+v", resp, want)
	}

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != len(sent) {
		t.Fatalf("EVENTS holds %d messages, want %d", len(msgs), len(sent))
	}
	for i := range sent {
		checkStored(t, msgs[i], h.topo, DefaultBus, sent[i])
	}
}

func TestPutEventsBatchPartial(t *testing.T) {
	h := start(t, newFakeBuses())
	bad := sampleEvent("partial-2")
	delete(bad, "type")
	body := fmt.Appendf(nil, "[%s,%s,%s]",
		mustJSON(t, sampleEvent("partial-1")), mustJSON(t, bad), mustJSON(t, sampleEvent("partial-3")))

	code, resp := h.post(t, DefaultBus, contentType(mediaBatch), body)
	if code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}
	if resp.FailedEntryCount != 1 {
		t.Errorf("failed_entry_count = %d, want 1", resp.FailedEntryCount)
	}
	if len(resp.Entries) != 3 {
		t.Fatalf("entries = %+v, want 3", resp.Entries)
	}
	if got := resp.Entries[1].ErrorCode; got != CodeMissingAttribute {
		t.Errorf("entry 1 error_code = %q, want %q", got, CodeMissingAttribute)
	}
	if got := resp.Entries[1].ErrorMessage; !strings.Contains(got, `"type"`) {
		t.Errorf("entry 1 error_message = %q, want it to name \"type\"", got)
	}
	if resp.Entries[0].EventID != "partial-1" || resp.Entries[2].EventID != "partial-3" {
		t.Errorf("entries = %+v, want ids partial-1 and partial-3 around the failure", resp.Entries)
	}

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 2 {
		t.Fatalf("EVENTS holds %d messages, want 2", len(msgs))
	}
	checkStored(t, msgs[0], h.topo, DefaultBus, sampleEvent("partial-1"))
	checkStored(t, msgs[1], h.topo, DefaultBus, sampleEvent("partial-3"))
}

func TestPutEventsFillsIDAndTime(t *testing.T) {
	h := start(t, newFakeBuses())
	sent := sampleEvent("")
	delete(sent, "id")
	delete(sent, "time")

	before := time.Now().UTC()
	code, resp := h.post(t, DefaultBus, contentType(mediaStructured), mustJSON(t, sent))
	after := time.Now().UTC()
	if code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}
	id := resp.Entries[0].EventID
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("event_id = %q, want a UUID: %v", id, err)
	}

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	stored := decodeJSON(t, msgs[0].data)
	if stored["id"] != id {
		t.Errorf("stored id = %v, want %q", stored["id"], id)
	}
	stamp, _ := stored["time"].(string)
	got, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		t.Fatalf("stored time %q is not RFC 3339: %v", stamp, err)
	}
	if got.Before(before.Truncate(time.Second)) || got.After(after) {
		t.Errorf("stored time = %v, want between %v and %v", got, before, after)
	}
	if got, want := msgs[0].header.Get(streams.HeaderMsgID),
		streams.EventMsgID(DefaultBus, "/ci/jenkins", id); got != want {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, want)
	}
}

func TestPutEventsDuplicateStoredOnce(t *testing.T) {
	h := start(t, newFakeBuses())
	body := mustJSON(t, sampleEvent("dup-1"))
	for range 2 {
		code, resp := h.post(t, DefaultBus, contentType(mediaStructured), body)
		if code != http.StatusOK || resp.Entries[0].EventID != "dup-1" {
			t.Fatalf("response = %d %+v, want 200 with event_id dup-1", code, resp)
		}
	}
	if got := h.streamCount(t, streams.Events); got != 1 {
		t.Errorf("EVENTS holds %d messages, want 1", got)
	}
}

func TestPutEventsTraceparent(t *testing.T) {
	h := start(t, newFakeBuses())

	fromHeader := contentType(mediaStructured)
	fromHeader.Set("traceparent", testTrace)
	if code, resp := h.post(t, DefaultBus, fromHeader, mustJSON(t, sampleEvent("trace-1"))); code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}
	withExtension := sampleEvent("trace-2")
	withExtension["traceparent"] = testTrace
	if code, resp := h.post(t, DefaultBus, contentType(mediaStructured), mustJSON(t, withExtension)); code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 2 {
		t.Fatalf("EVENTS holds %d messages, want 2", len(msgs))
	}
	for i, m := range msgs {
		if got := m.header.Get(headerTraceparent); got != testTrace {
			t.Errorf("message %d traceparent = %q, want %q", i, got, testTrace)
		}
	}
}

func TestPutEventsRejects(t *testing.T) {
	missing := func(attr string) []byte {
		e := sampleEvent("x")
		delete(e, attr)
		return mustJSON(t, e)
	}
	large := sampleEvent("large")
	large["data"] = map[string]any{"blob": strings.Repeat("a", streams.MaxEventSize)}
	tooMany := make([]map[string]any, MaxBatchEntries+1)
	for i := range tooMany {
		tooMany[i] = sampleEvent(fmt.Sprint(i))
	}
	binaryNoVersion := http.Header{
		"Content-Type": {"application/json"},
		"Ce-Source":    {"/ci/jenkins"},
		"Ce-Type":      {"com.example.build.finished"},
	}
	oldVersion := sampleEvent("old")
	oldVersion["specversion"] = "0.3"

	tests := []struct {
		name     string
		bus      string
		header   http.Header
		body     []byte
		wantCode int
		wantErr  string
		wantText string
	}{
		{"malformed JSON", "", contentType(mediaStructured), []byte(`{"specversion":"1.0",`),
			400, CodeMalformedEvent, "not valid JSON"},
		{"not an object", "", contentType(mediaStructured), []byte(`["a"]`),
			400, CodeMalformedEvent, "not an object"},
		{"missing source", "", contentType(mediaStructured), missing("source"),
			400, CodeMissingAttribute, `"source"`},
		{"missing type", "", contentType(mediaStructured), missing("type"),
			400, CodeMissingAttribute, `"type"`},
		{"missing specversion", "", contentType(mediaStructured), missing("specversion"),
			400, CodeMissingAttribute, `"specversion"`},
		{"old specversion", "", contentType(mediaStructured), mustJSON(t, oldVersion),
			400, CodeInvalidAttribute, `"0.3"`},
		{"blank source", "", contentType(mediaStructured),
			[]byte(`{"specversion":"1.0","source":" ","type":"t"}`),
			400, CodeMissingAttribute, `no "source" attribute`},
		{"binary blank source", "", http.Header{
			"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"},
			"Ce-Source": {" "}, "Ce-Type": {"t"},
		}, []byte(`{}`), 400, CodeMissingAttribute, `no "source" attribute`},
		{"blank source names binary header", "", contentType(mediaStructured),
			[]byte(`{"specversion":"1.0","source":"","type":"t"}`),
			400, CodeMissingAttribute, "(ce-source in binary mode)"},
		{"source with space", "", contentType(mediaStructured),
			[]byte(`{"specversion":"1.0","source":"/x y","type":"t"}`),
			400, CodeInvalidAttribute, `attribute "source" is "/x y", not a valid URI-reference`},
		{"source unclosed IPv6 host", "", contentType(mediaStructured),
			[]byte(`{"specversion":"1.0","source":"http://[::1","type":"t"}`),
			400, CodeInvalidAttribute, `attribute "source" is "http://[::1", not a valid URI-reference`},
		{"binary source with space", "", http.Header{
			"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"},
			"Ce-Source": {"/x y"}, "Ce-Type": {"t"},
		}, []byte(`{}`), 400, CodeInvalidAttribute, `header "ce-source" is "/x y"`},
		{"number out of range", "", contentType(mediaStructured),
			[]byte(`{"specversion":"1.0","source":"/s","type":"t","data":{"readings":[1,1e400]}}`),
			400, CodeMalformedEvent, "the number 1e400 at $.data.readings[1] is out of the range"},
		{"source not a string", "", contentType(mediaStructured),
			[]byte(`{"specversion":"1.0","source":7,"type":"t"}`),
			400, CodeInvalidAttribute, `"source"`},
		{"event too large", "", contentType(mediaStructured), mustJSON(t, large),
			400, CodeEventTooLarge, "262144"},
		{"unknown bus", "nosuchbus", contentType(mediaStructured), mustJSON(t, sampleEvent("u")),
			404, CodeUnknownBus, "switchyard bus create nosuchbus"},
		{"invalid bus name", "bad.name", contentType(mediaStructured), mustJSON(t, sampleEvent("n")),
			400, CodeInvalidBusName, `"bad.name"`},
		{"wrong content type", "", contentType("text/plain"), []byte("hello"),
			415, CodeUnsupportedMediaType, "text/plain"},
		{"no content type", "", http.Header{}, mustJSON(t, sampleEvent("c")),
			415, CodeUnsupportedMediaType, mediaStructured},
		{"binary without specversion", "", binaryNoVersion, []byte(`{}`),
			400, CodeMissingAttribute, "ce-specversion"},
		{"binary invalid json data", "", http.Header{
			"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"},
			"Ce-Source": {"/s"}, "Ce-Type": {"t"},
		}, []byte(`{"a":`), 400, CodeMalformedEvent, "not valid JSON"},
		{"batch malformed", "", contentType(mediaBatch),
			fmt.Appendf(nil, "[%s,{", mustJSON(t, sampleEvent("b"))),
			400, CodeMalformedEvent, "JSON array"},
		{"batch is an object", "", contentType(mediaBatch), mustJSON(t, sampleEvent("o")),
			400, CodeMalformedEvent, "the batch is an object, not an array; send a JSON array"},
		{"batch is a string", "", contentType(mediaBatch), []byte(`"events"`),
			400, CodeMalformedEvent, "the batch is a string, not an array"},
		{"batch empty", "", contentType(mediaBatch), []byte(`[]`),
			400, CodeMalformedEvent, "empty"},
		{"batch too many", "", contentType(mediaBatch), mustJSON(t, tooMany),
			400, CodeTooManyEntries, "101"},
		{"body too large", "", contentType(mediaBatch), bytes.Repeat([]byte(" "), MaxRequestSize+1),
			413, CodeRequestTooLarge, "4194304"},
	}

	h := start(t, newFakeBuses())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := tt.bus
			if bus == "" {
				bus = DefaultBus
			}
			code, resp := h.post(t, bus, tt.header, tt.body)
			if code != tt.wantCode {
				t.Errorf("status = %d, want %d (%+v)", code, tt.wantCode, resp)
			}
			if resp.ErrorCode != tt.wantErr {
				t.Errorf("error_code = %q, want %q", resp.ErrorCode, tt.wantErr)
			}
			if !strings.Contains(resp.ErrorMessage, tt.wantText) {
				t.Errorf("error_message = %q, want it to contain %q", resp.ErrorMessage, tt.wantText)
			}
			if strings.Contains(resp.ErrorMessage, "Go value") {
				t.Errorf("error_message = %q names a Go type", resp.ErrorMessage)
			}
		})
	}

	if got := h.streamCount(t, streams.Events); got != 0 {
		t.Errorf("EVENTS holds %d messages after rejected requests, want 0", got)
	}
}

func TestPutEventsSingleFailureEntry(t *testing.T) {
	h := start(t, newFakeBuses())
	code, resp := h.post(t, DefaultBus, contentType(mediaStructured), []byte(`{"specversion":"1.0","source":"/s"}`))
	if code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", code)
	}
	if resp.FailedEntryCount != 1 || len(resp.Entries) != 1 {
		t.Fatalf("response = %+v, want one failed entry", resp)
	}
	if got := resp.Entries[0].ErrorCode; got != CodeMissingAttribute {
		t.Errorf("entry error_code = %q, want %q", got, CodeMissingAttribute)
	}
}

func TestBusCacheFollowsConfig(t *testing.T) {
	buses := newFakeBuses("orders")
	h := start(t, buses)
	body := mustJSON(t, sampleEvent("cache-1"))

	if code, resp := h.post(t, "orders", contentType(mediaStructured), body); code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}

	// The bus is deleted in config, but the cached result holds until
	// the change notice arrives.
	buses.set("orders", false)
	if code, _ := h.post(t, "orders", contentType(mediaStructured), body); code != http.StatusOK {
		t.Fatalf("status before the notice = %d, want 200 from the cache", code)
	}
	notice, err := proto.Marshal(&internalv1.ConfigChange{
		Kind: internalv1.ChangeKind_CHANGE_KIND_BUS, Name: "orders", Deleted: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.nc.Publish(h.topo.ChangesSubject(), notice); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bus is reported unknown", func() bool {
		code, _ := h.post(t, "orders", contentType(mediaStructured), body)
		return code == http.StatusNotFound
	})
}

func TestBusCacheUnknownBurst(t *testing.T) {
	buses := newFakeBuses()
	h := start(t, buses)
	body := mustJSON(t, sampleEvent("burst"))

	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			codes[i], _ = h.post(t, "wrongbus", contentType(mediaStructured), body)
		})
	}
	wg.Wait()

	for i, code := range codes {
		if code != http.StatusNotFound {
			t.Errorf("request %d status = %d, want 404", i, code)
		}
	}
	if got := buses.calls.Load(); got != 1 {
		t.Errorf("GetBus calls = %d, want 1 for a burst to one unknown bus", got)
	}
}

func TestPutEventsConfigUnavailable(t *testing.T) {
	buses := newFakeBuses("orders")
	buses.setDown(true)
	h := start(t, buses)

	code, resp := h.post(t, "orders", contentType(mediaStructured), mustJSON(t, sampleEvent("down")))
	if code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", code)
	}
	if resp.ErrorCode != CodeServiceUnavailable {
		t.Errorf("error_code = %q, want %q", resp.ErrorCode, CodeServiceUnavailable)
	}

	// A failed lookup is not cached, so the next request looks up again.
	buses.setDown(false)
	if code, resp := h.post(t, "orders", contentType(mediaStructured), mustJSON(t, sampleEvent("up"))); code != http.StatusOK {
		t.Errorf("status after recovery = %d, want 200 (%+v)", code, resp)
	}
}

func TestHealthEndpoints(t *testing.T) {
	h := start(t, newFakeBuses())
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}

	h.nc.Close()
	resp, err := http.Get(h.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with NATS closed = %d, want 503", resp.StatusCode)
	}
}

func TestPutEventsStoreFailure(t *testing.T) {
	h := start(t, newFakeBuses())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.js.DeleteStream(ctx, h.topo.Stream(streams.Events)); err != nil {
		t.Fatal(err)
	}

	code, resp := h.post(t, DefaultBus, contentType(mediaStructured), mustJSON(t, sampleEvent("lost-1")))
	if code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", code)
	}
	if resp.FailedEntryCount != 1 || len(resp.Entries) != 1 {
		t.Fatalf("response = %+v, want one failed entry", resp)
	}
	got := resp.Entries[0]
	if got.ErrorCode != CodeInternalFailure {
		t.Errorf("error_code = %q, want %q", got.ErrorCode, CodeInternalFailure)
	}
	if got.EventID != "lost-1" {
		t.Errorf("event_id = %q, want lost-1 so the client can retry", got.EventID)
	}
}
