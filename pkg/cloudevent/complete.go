package cloudevent

import (
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
)

// MaxEventSize is the largest event that ingest accepts, in bytes of
// the stored JSON.
const MaxEventSize = 256 << 10

// Complete checks the required attributes and fills a missing id with
// fallbackID, or a random UUID when that is empty, and a missing time
// with now. It then validates the event against CloudEvents 1.0 and
// returns the JSON to store, which must fit MaxEventSize.
func Complete(ev *event.Event, now time.Time, fallbackID string) ([]byte, *Error) {
	if ev.SpecVersion() != event.CloudEventsVersionV1 {
		return nil, InvalidSpecVersion(ev.SpecVersion())
	}
	if strings.TrimSpace(ev.Source()) == "" {
		return nil, missingSource()
	}
	if strings.TrimSpace(ev.Type()) == "" {
		return nil, missingType()
	}

	if ev.ID() == "" && fallbackID == "" {
		ev.SetID(uuid.NewString())
	} else if ev.ID() == "" {
		ev.SetID(fallbackID)
	}
	if ev.Time().IsZero() {
		ev.SetTime(now.UTC())
	}
	if err := ev.Validate(); err != nil {
		return nil, SDKError(CodeInvalidAttribute, "the event is not a valid CloudEvent", err)
	}

	// MarshalJSON writes compact JSON itself. Going through json.Marshal
	// would scan and copy it again, and escape <, > and & in strings.
	stored, err := ev.MarshalJSON()
	if err != nil {
		return nil, Errorf(CodeMalformedEvent, "the event could not be written as JSON: %v", err)
	}
	if len(stored) > MaxEventSize {
		return nil, Errorf(CodeEventTooLarge,
			"the event is %d bytes as stored JSON, over the limit of %d bytes; "+
				"store large payloads elsewhere and send a reference",
			len(stored), MaxEventSize)
	}
	return stored, nil
}

// MissingAttributes returns the names of the attributes that Complete
// fills in ev: "id" and "time" when they are absent.
func MissingAttributes(ev *event.Event) []string {
	var names []string
	if ev.ID() == "" {
		names = append(names, "id")
	}
	if ev.Time().IsZero() {
		names = append(names, "time")
	}
	return names
}
