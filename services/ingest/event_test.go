package ingest

import (
	"encoding/json"
	"net/http"
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
				if f == nil || f.code != tt.wantCode {
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

func TestDecodeStructuredFailures(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode string
		wantText string
	}{
		{"null", `null`, CodeMalformedEvent, "null"},
		{"string", `"event"`, CodeMalformedEvent, "not an object"},
		{"trailing garbage", `{"specversion":"1.0","source":"/s","type":"t"} x`, CodeMalformedEvent, "not valid JSON"},
		{"data_base64 not a string", `{"specversion":"1.0","source":"/s","type":"t","data_base64":1}`,
			CodeInvalidAttribute, `"data_base64"`},
		{"bad base64", `{"specversion":"1.0","source":"/s","type":"t","data_base64":"!!"}`,
			CodeInvalidAttribute, `attribute "data_base64" is not valid base64`},
		{"bad time", `{"specversion":"1.0","source":"/s","type":"t","time":"yesterday"}`,
			CodeInvalidAttribute, `attribute "time" is "yesterday", not an RFC 3339 timestamp`},
		{"bad extension name", `{"specversion":"1.0","source":"/s","type":"t","my-ext":"v"}`,
			CodeInvalidAttribute, `"my-ext"`},
		{"upper case extension", `{"specversion":"1.0","source":"/s","type":"t","Team":"v"}`,
			CodeInvalidAttribute, `"Team"`},
		{"fractional extension", `{"specversion":"1.0","source":"/s","type":"t","rank":1.5}`,
			CodeInvalidAttribute, `"rank"`},
		{"object extension", `{"specversion":"1.0","source":"/s","type":"t","meta":{"a":1}}`,
			CodeInvalidAttribute, `"meta"`},
		{"data and data_base64", `{"specversion":"1.0","source":"/s","type":"t","data":1,"data_base64":"AA=="}`,
			CodeInvalidAttribute, `"data_base64"`},
		{"empty type", `{"specversion":"1.0","source":"/s","type":" "}`, CodeMissingAttribute, `"type"`},
		{"bad content type", `{"specversion":"1.0","source":"/s","type":"t","datacontenttype":"; x"}`,
			CodeInvalidAttribute, `"datacontenttype"`},
	}
	now := time.Now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, f := decodeStructured([]byte(tt.body))
			if f == nil {
				_, f = complete(ev, now, "")
			}
			if f == nil {
				t.Fatalf("event accepted, want %s", tt.wantCode)
			}
			if f.code != tt.wantCode {
				t.Errorf("code = %s (%s), want %s", f.code, f.message, tt.wantCode)
			}
			if !strings.Contains(f.message, tt.wantText) {
				t.Errorf("message = %q, want it to contain %q", f.message, tt.wantText)
			}
		})
	}
}

func TestCompleteSizeLimit(t *testing.T) {
	envelope := `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-12-04T10:00:00Z","data":""}`
	fits := strings.Replace(envelope, `"data":""`,
		`"data":"`+strings.Repeat("a", streams.MaxEventSize-len(envelope))+`"`, 1)
	over := strings.Replace(fits, `"data":"`, `"data":"a`, 1)

	for _, tt := range []struct {
		name string
		body string
		ok   bool
	}{{"at limit", fits, true}, {"one byte over", over, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ev, f := decodeStructured([]byte(tt.body))
			if f != nil {
				t.Fatalf("decodeStructured: %v", f)
			}
			stored, f := complete(ev, time.Now(), "")
			if tt.ok && f != nil {
				t.Fatalf("complete = %v, want accepted (%d bytes stored)", f, len(stored))
			}
			if !tt.ok && (f == nil || f.code != CodeEventTooLarge) {
				t.Fatalf("complete = %v, want %s", f, CodeEventTooLarge)
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
		if f := checkBusName(name); f == nil || f.code != CodeInvalidBusName {
			t.Errorf("checkBusName(%q) = %v, want %s", name, f, CodeInvalidBusName)
		}
	}
}

// FuzzDecodeRequest feeds arbitrary bodies to the HTTP parser in every
// mode. It must not panic, and every accepted event must be stored as a
// JSON object with specversion 1.0, an id, a source and a type.
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

		entries, _, fail := decodeRequest(header, body, now)
		if fail != nil {
			return
		}
		for i, e := range entries {
			if e.err != nil {
				continue
			}
			checkStoredEvent(t, i, e.stored)
		}
	})
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
	if f.code != CodeInvalidAttribute || !strings.Contains(f.message, `header "ce-time" is "yesterday"`) {
		t.Errorf("failure = %s: %s, want %s naming the ce-time header", f.code, f.message, CodeInvalidAttribute)
	}
}
