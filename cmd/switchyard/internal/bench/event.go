package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// eventSize is the size of each benchmark CloudEvent in bytes, give or
// take the few digits of its id and timestamps.
const eventSize = 1024

// eventSource and eventType are the envelope of every benchmark event.
const (
	eventSource = "switchyard-bench"
	eventType   = "dev.switchyard.bench"
)

// eventData is the data of a benchmark event. Key selects the rule that
// matches it, and Sent carries the publish time to the endpoint.
type eventData struct {
	Key  string `json:"key"`
	Sent int64  `json:"sent"`
	Pad  string `json:"pad"`
}

// newEvent returns a structured CloudEvent of about eventSize bytes
// whose data.key is key and whose data.sent is the current time in Unix
// nanoseconds.
func newEvent(id, key string) []byte {
	head := `{"specversion":"1.0","id":"` + id + `","source":"` + eventSource +
		`","type":"` + eventType + `","datacontenttype":"application/json",` +
		`"data":{"key":"` + key + `","sent":`
	sent := strconv.FormatInt(time.Now().UnixNano(), 10)
	tail := `,"pad":"`
	padding := max(0, eventSize-len(head)-len(sent)-len(tail)-3)

	var b strings.Builder
	b.Grow(eventSize)
	b.WriteString(head)
	b.WriteString(sent)
	b.WriteString(tail)
	b.WriteString(strings.Repeat("x", padding))
	b.WriteString(`"}}`)
	return []byte(b.String())
}

// eventKeyPattern returns the event pattern that matches the events
// whose data.key is key.
func eventKeyPattern(key string) string {
	return fmt.Sprintf(`{"source":[%q],"data":{"key":[%q]}}`, eventSource, key)
}

// sentTime reads data.sent from a delivered request body, which is the
// whole event as CloudEvents JSON.
func sentTime(body []byte) (time.Time, error) {
	var e struct {
		Data eventData `json:"data"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return time.Time{}, fmt.Errorf("decode delivered event: %w", err)
	}
	if e.Data.Sent == 0 {
		return time.Time{}, fmt.Errorf("delivered event has no data.sent")
	}
	return time.Unix(0, e.Data.Sent), nil
}
