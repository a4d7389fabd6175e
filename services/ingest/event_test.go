package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

func TestRequestMode(t *testing.T) {
	tests := []struct {
		name     string
		header   http.Header
		want     mode
		wantCode string
	}{
		{"structured", contentType("application/cloudevents+json"), modeStructured, ""},
		{"structured upper case", contentType("Application/CloudEvents+JSON; charset=UTF-8"), modeStructured, ""},
		{"plain json envelope", contentType("application/json"), modeStructured, ""},
		{"batch", contentType("application/cloudevents-batch+json"), modeBatch, ""},
		{"binary json", http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}}, modeBinary, ""},
		{"binary without content type", http.Header{"Ce-Specversion": {"1.0"}}, modeBinary, ""},
		{"structured wins over ce headers", http.Header{
			"Content-Type": {"application/cloudevents+json"}, "Ce-Specversion": {"1.0"},
		}, modeStructured, ""},
		{"binary without specversion", http.Header{"Content-Type": {"text/plain"}, "Ce-Type": {"t"}}, 0, CodeMissingAttribute},
		{"unknown type", contentType("application/xml"), 0, CodeUnsupportedMediaType},
		{"unparsable type", contentType("application/json; ==="), 0, CodeUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f := requestMode(tt.header)
			if tt.wantCode != "" {
				if f == nil || f.Code != tt.wantCode {
					t.Fatalf("requestMode = %v, %v, want failure %s", got, f, tt.wantCode)
				}
				return
			}
			if f != nil {
				t.Fatalf("requestMode failed: %v", f)
			}
			if got != tt.want {
				t.Errorf("requestMode = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckBusName(t *testing.T) {
	for _, name := range []string{"default", "orders-v2", "Team_A"} {
		if f := checkBusName(name); f != nil {
			t.Errorf("checkBusName(%q) = %v, want nil", name, f)
		}
	}
	for _, name := range []string{"", "a.b", "a*", ">", "with space", strings.Repeat("a", 129)} {
		if f := checkBusName(name); f == nil || f.Code != CodeInvalidBusName {
			t.Errorf("checkBusName(%q) = %v, want %s", name, f, CodeInvalidBusName)
		}
	}
}

// FuzzDecodeRequest feeds arbitrary bodies to the HTTP parser in every
// mode. It must not panic, and every accepted event must be stored as a
// JSON object with specversion 1.0, an id, a source and a type. A
// structured event whose source is blank must be rejected, and every
// rejection must carry a known code and a message, whose number, when
// it names one out of range, occurs in the body.
func FuzzDecodeRequest(f *testing.F) {
	f.Add("application/cloudevents+json", false,
		[]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`))
	f.Add("application/json", false,
		[]byte(`{"specversion":"1.0","source":"/s","type":"t","datacontenttype":"text/plain","data":"x"}`))
	f.Add("application/cloudevents-batch+json", false,
		[]byte(`[{"specversion":"1.0","source":"/s","type":"t"},{"specversion":"1.0"}]`))
	f.Add("application/json", true, []byte(`{"a":[1,2]}`))
	f.Add("application/octet-stream", true, []byte{0xff, 0xfe})
	f.Add("application/cloudevents+json", false,
		[]byte(`{"data_base64":"AA==","specversion":"1.0","source":"/s","type":"t","x":1.5}`))
	f.Add("", true, []byte(``))
	f.Add("application/cloudevents+json", false,
		[]byte(`{"specversion":"1.0","source":" ","type":"t"}`))
	f.Add("application/cloudevents-batch+json", false,
		[]byte(`[{"specversion":"1.0","source":"/s","type":"t","data":{"a":[1e400]}},`+
			`{"specversion":"1.0","source":"\t","type":"t"}]`))

	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ct string, binary bool, body []byte) {
		header := http.Header{}
		if ct != "" {
			header.Set("Content-Type", ct)
		}
		if binary {
			header.Set("Ce-Specversion", "1.0")
			header.Set("Ce-Source", "/fuzz")
			header.Set("Ce-Type", "fuzz.event")
		}

		entries, m, fail := decodeRequest(header, body, now)
		if fail != nil {
			checkFailure(t, -1, fail, body)
			return
		}
		for i, e := range entries {
			if e.err != nil {
				checkFailure(t, i, e.err, body)
				continue
			}
			checkStoredEvent(t, i, e.stored)
		}
		if m != modeBinary {
			checkBlankSourcesRejected(t, m, body, entries)
		}
	})
}

var knownCodes = []string{
	CodeMalformedEvent, CodeMissingAttribute, CodeInvalidAttribute, CodeEventTooLarge,
	CodeTooManyEntries, CodeRequestTooLarge, CodeUnsupportedMediaType,
}

// checkFailure checks the failure of entry i, or of the request as a
// whole when i is -1.
func checkFailure(t *testing.T, i int, f *failure, body []byte) {
	t.Helper()
	if !slices.Contains(knownCodes, f.Code) {
		t.Errorf("entry %d failed with unknown code %q", i, f.Code)
	}
	if f.Message == "" {
		t.Errorf("entry %d failed with %s and no message", i, f.Code)
	}
	rest, ok := strings.CutPrefix(f.Message, "the number ")
	if !ok {
		return
	}
	literal, _, _ := strings.Cut(rest, " ")
	if !bytes.Contains(body, []byte(strings.TrimSuffix(literal, "..."))) {
		t.Errorf("entry %d names the number %q, which is not in the body", i, literal)
	}
}

// checkBlankSourcesRejected checks that no structured event whose
// source is a blank string was accepted.
func checkBlankSourcesRejected(t *testing.T, m mode, body []byte, entries []entry) {
	t.Helper()
	raws := []json.RawMessage{body}
	if m == modeBatch && json.Unmarshal(body, &raws) != nil {
		return
	}
	for i, raw := range raws {
		var attrs struct {
			Source *string `json:"source"`
		}
		if json.Unmarshal(raw, &attrs) != nil || attrs.Source == nil {
			continue
		}
		if strings.TrimSpace(*attrs.Source) == "" && i < len(entries) && entries[i].err == nil {
			t.Errorf("entry %d with source %q was accepted", i, *attrs.Source)
		}
	}
}

func checkStoredEvent(t *testing.T, i int, stored []byte) {
	t.Helper()
	var event map[string]any
	if err := json.Unmarshal(stored, &event); err != nil {
		t.Fatalf("entry %d stored invalid JSON: %v\n%s", i, err, stored)
	}
	if event["specversion"] != "1.0" {
		t.Errorf("entry %d specversion = %v, want 1.0", i, event["specversion"])
	}
	for _, attr := range []string{"id", "source", "type"} {
		if s, ok := event[attr].(string); !ok || strings.TrimSpace(s) == "" {
			t.Errorf("entry %d %s = %v, want a non-empty string", i, attr, event[attr])
		}
	}
	if len(stored) > streams.MaxEventSize {
		t.Errorf("entry %d stored %d bytes, over the limit", i, len(stored))
	}
}

// BenchmarkDecodeRequest decodes and completes one structured event of
// about 1 KB, as the HTTP handler does for each request.
func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(`{"specversion":"1.0","id":"bench-1","source":"/bench","type":"bench.event",` +
		`"datacontenttype":"application/json","data":{"key":"k1","sent":1,"pad":"` +
		strings.Repeat("x", 900) + `"}}`)
	header := http.Header{"Content-Type": {"application/cloudevents+json"}}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		entries, _, f := decodeRequest(header, body, now)
		if f != nil || entries[0].err != nil {
			b.Fatalf("decode failed: %v %v", f, entries[0].err)
		}
	}
}

func TestDecodeBinaryBadTime(t *testing.T) {
	header := http.Header{
		"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"},
		"Ce-Source": {"/s"}, "Ce-Type": {"t"}, "Ce-Time": {"yesterday"},
	}
	_, f := decodeBinary(header, []byte(`{}`))
	if f == nil {
		t.Fatal("decodeBinary accepted ce-time yesterday")
	}
	if f.Code != CodeInvalidAttribute || !strings.Contains(f.Message, `header "ce-time" is "yesterday"`) {
		t.Errorf("failure = %s: %s, want %s naming the ce-time header", f.Code, f.Message, CodeInvalidAttribute)
	}
}
