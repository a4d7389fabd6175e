package cloudevent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

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
			ev, f := DecodeStructured([]byte(tt.body))
			if f == nil {
				_, f = Complete(ev, now, "")
			}
			if f == nil {
				t.Fatalf("event accepted, want %s", tt.wantCode)
			}
			if f.Code != tt.wantCode {
				t.Errorf("code = %s (%s), want %s", f.Code, f.Message, tt.wantCode)
			}
			if !strings.Contains(f.Message, tt.wantText) {
				t.Errorf("message = %q, want it to contain %q", f.Message, tt.wantText)
			}
		})
	}
}

func TestCompleteSizeLimit(t *testing.T) {
	envelope := `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-12-04T10:00:00Z","data":""}`
	fits := strings.Replace(envelope, `"data":""`,
		`"data":"`+strings.Repeat("a", MaxEventSize-len(envelope))+`"`, 1)
	over := strings.Replace(fits, `"data":"`, `"data":"a`, 1)

	for _, tt := range []struct {
		name string
		body string
		ok   bool
	}{{"at limit", fits, true}, {"one byte over", over, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ev, f := DecodeStructured([]byte(tt.body))
			if f != nil {
				t.Fatalf("DecodeStructured: %v", f)
			}
			stored, f := Complete(ev, time.Now(), "")
			if tt.ok && f != nil {
				t.Fatalf("Complete = %v, want accepted (%d bytes stored)", f, len(stored))
			}
			if !tt.ok && (f == nil || f.Code != CodeEventTooLarge) {
				t.Fatalf("Complete = %v, want %s", f, CodeEventTooLarge)
			}
		})
	}
}

func TestDecodeStructuredBlankSource(t *testing.T) {
	for _, source := range []string{"", " ", "\t", " \n "} {
		body, err := json.Marshal(map[string]string{"specversion": "1.0", "source": source, "type": "t"})
		if err != nil {
			t.Fatal(err)
		}
		ev, e := DecodeStructured(body)
		if e == nil {
			_, e = Complete(ev, time.Now(), "")
		}
		if e == nil {
			t.Errorf("source %q accepted, stored as %q", source, ev.Source())
			continue
		}
		if e.Code != CodeMissingAttribute {
			t.Errorf("source %q: code = %s, want %s", source, e.Code, CodeMissingAttribute)
		}
		if !strings.Contains(e.Message, `no "source" attribute`) {
			t.Errorf("source %q: message = %q, want it to name the source", source, e.Message)
		}
	}
}

func TestDecodeStructuredNumberOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"top level", `1e400`, "the number 1e400 at $.data is out of the range of a 64-bit float"},
		{"negative", `{"a":-1e400}`, "the number -1e400 at $.data.a is out"},
		{"nested", `{"a":[1,{"unit price":2E+309}]}`, `the number 2E+309 at $.data.a[1]["unit price"] is out`},
		{"first of two", `[0,1e999,{"b":1e400}]`, "the number 1e999 at $.data[1] is out"},
		{"after strings", `{"k":"1e400","n":[true,null,"x",9e9999]}`, "the number 9e9999 at $.data.n[3] is out"},
		{"long literal", `1` + strings.Repeat("0", 300) + `e10`,
			"the number 1000000000000000000000000000000000000000... (304 characters) at $.data is out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"specversion":"1.0","source":"/s","type":"t","data":` + tt.data + `}`
			_, e := DecodeStructured([]byte(body))
			if e == nil {
				t.Fatal("event accepted")
			}
			if e.Code != CodeMalformedEvent {
				t.Errorf("code = %s, want %s", e.Code, CodeMalformedEvent)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.want)
			}
		})
	}
}

// A number out of range is named only when it is why the SDK failed.
func TestDecodeStructuredOtherFailureWithLargeNumber(t *testing.T) {
	body := `{"specversion":"1.0","source":"/s","type":"t","datacontenttype":"text/plain",` +
		`"data":{"a":1e400}}`
	_, e := DecodeStructured([]byte(body))
	if e == nil {
		t.Fatal("event accepted")
	}
	if strings.Contains(e.Message, "out of the range") {
		t.Errorf("message = %q, want the SDK's reason, not the number", e.Message)
	}
	if !strings.Contains(e.Message, "text/plain") {
		t.Errorf("message = %q, want it to name the media type", e.Message)
	}
}

func TestDecodeStructuredSmallNumbersAccepted(t *testing.T) {
	body := `{"specversion":"1.0","source":"/s","type":"t",` +
		`"data":{"tiny":1e-400,"max":1.7976931348623157e308,"big":123456789012345678901234567890}}`
	if _, e := DecodeStructured([]byte(body)); e != nil {
		t.Fatalf("DecodeStructured = %v, want accepted", e)
	}
}

func TestCompleteFillsIDAndTime(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	ev, e := DecodeStructured([]byte(`{"specversion":"1.0","source":"/s","type":"t"}`))
	if e != nil {
		t.Fatal(e)
	}
	if got := strings.Join(MissingAttributes(ev), ","); got != "id,time" {
		t.Errorf("MissingAttributes = %s, want id,time", got)
	}
	if _, e := Complete(ev, now, "fallback-1"); e != nil {
		t.Fatal(e)
	}
	if ev.ID() != "fallback-1" {
		t.Errorf("id = %q, want fallback-1", ev.ID())
	}
	if !ev.Time().Equal(now) {
		t.Errorf("time = %s, want %s", ev.Time(), now)
	}
	if got := MissingAttributes(ev); len(got) != 0 {
		t.Errorf("MissingAttributes after Complete = %v, want none", got)
	}
}
