package cloudevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// stringAttributes must be JSON strings in structured mode. The SDK's
// parser coerces or mis-slices other JSON types, so they are rejected
// before it runs.
var stringAttributes = []string{
	"specversion", "id", "source", "type", "subject", "time",
	"datacontenttype", "dataschema", "data_base64",
}

// contextAttributes are the attribute names of CloudEvents 1.0 that are
// not extensions, with data and data_base64.
var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
}

// DecodeStructured parses one event in the CloudEvents JSON format and
// rejects what ingest rejects before it stores an event. Complete does
// the remaining checks.
func DecodeStructured(raw []byte) (*event.Event, *Error) {
	attrs, e := decodeObject(raw)
	if e != nil {
		return nil, e
	}
	if e := checkAttributes(attrs); e != nil {
		return nil, e
	}
	if e := checkSpecVersion(attrs); e != nil {
		return nil, e
	}
	if e := checkSource(attrs); e != nil {
		return nil, e
	}

	// The SDK's own decoder, without encoding/json around it: that would
	// scan the event for validity once more, which decodeObject did.
	ev := event.New()
	err := ParseSafely(func() error { return ev.UnmarshalJSON(raw) })
	if err != nil {
		if e := outOfRangeError(raw); e != nil {
			return nil, e
		}
		return nil, SDKError(CodeMalformedEvent, "the event is not a valid CloudEvent", err)
	}
	return &ev, nil
}

func decodeObject(raw []byte) (map[string]json.RawMessage, *Error) {
	var attrs map[string]json.RawMessage
	err := json.Unmarshal(raw, &attrs)

	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return nil, Errorf(CodeMalformedEvent,
			"the event is not valid JSON: %v (at byte %d); send a JSON object",
			syntaxErr, syntaxErr.Offset)
	case errors.As(err, &typeErr):
		return nil, Errorf(CodeMalformedEvent,
			"the event is a JSON %s, not an object; send a JSON object with "+
				"specversion, source and type", typeErr.Value)
	case err != nil:
		return nil, Errorf(CodeMalformedEvent, "the event is not valid JSON: %v", err)
	case attrs == nil:
		return nil, Errorf(CodeMalformedEvent,
			"the event is JSON null; send a JSON object with specversion, source and type")
	}
	return attrs, nil
}

// checkAttributes rejects what the SDK's parser would mishandle: context
// attributes that are not strings, and extensions that it would rename
// or truncate (it lowercases names and cuts 1.5 to 1).
func checkAttributes(attrs map[string]json.RawMessage) *Error {
	for _, name := range stringAttributes {
		value, ok := attrs[name]
		if ok && !isJSONString(value) {
			return Errorf(CodeInvalidAttribute,
				"attribute %q is %s, not a JSON string; send it as a string", name, value)
		}
	}
	_, hasData := attrs["data"]
	if _, hasBase64 := attrs["data_base64"]; hasData && hasBase64 {
		return Errorf(CodeInvalidAttribute,
			`the event has both "data" and "data_base64"; send only one of them`)
	}
	if e := checkEncodedValues(attrs); e != nil {
		return e
	}

	names := make([]string, 0, len(attrs))
	for name := range attrs {
		if !contextAttributes[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if e := checkExtension(name, attrs[name]); e != nil {
			return e
		}
	}
	return nil
}

// checkEncodedValues checks "time" and "data_base64" with the parsers
// the SDK uses, so that the error names the attribute and the fix
// instead of passing on the SDK's conversion message.
func checkEncodedValues(attrs map[string]json.RawMessage) *Error {
	var value string
	if raw, ok := attrs["time"]; ok && json.Unmarshal(raw, &value) == nil {
		if _, err := types.ParseTime(value); err != nil {
			return InvalidTime(`attribute "time"`, value)
		}
	}
	if raw, ok := attrs["data_base64"]; ok && json.Unmarshal(raw, &value) == nil {
		if _, err := types.ParseBinary(value); err != nil {
			return Errorf(CodeInvalidAttribute,
				`attribute "data_base64" is not valid base64 (%v); encode the data in standard `+
					`base64 with padding, or send JSON data in "data" instead`, err)
		}
	}
	return nil
}

// checkSource rejects a source of only whitespace, and one that is not
// a URI-reference. The SDK would percent-encode either (" " becomes
// "%20"), and Complete would no longer see that it is blank.
func checkSource(attrs map[string]json.RawMessage) *Error {
	raw, ok := attrs["source"]
	if !ok {
		return nil
	}
	var source string
	_ = json.Unmarshal(raw, &source) // checkAttributes made sure it is a string
	if strings.TrimSpace(source) == "" {
		return missingSource()
	}
	return CheckSource(`attribute "source"`, source)
}

func checkExtension(name string, value json.RawMessage) *Error {
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return Errorf(CodeInvalidAttribute,
				"attribute name %q is invalid; CloudEvents attribute names use only "+
					"lowercase letters a-z and digits", name)
		}
	}
	if name == "" || !isExtensionValue(value) {
		return Errorf(CodeInvalidAttribute,
			"extension %q is %s; an extension value must be a string, a boolean or "+
				"an integer from -2147483648 to 2147483647", name, value)
	}
	return nil
}

// isExtensionValue reports whether value is a JSON string, boolean,
// null (the extension is absent) or integer that fits CloudEvents'
// 32-bit Integer type.
func isExtensionValue(value json.RawMessage) bool {
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	switch v := v.(type) {
	case nil, string, bool:
		return true
	case json.Number:
		_, err := strconv.ParseInt(v.String(), 10, 32)
		return err == nil
	default:
		return false
	}
}

func isJSONString(value json.RawMessage) bool {
	var s string
	return json.Unmarshal(value, &s) == nil && bytes.HasPrefix(bytes.TrimSpace(value), []byte(`"`))
}

func checkSpecVersion(attrs map[string]json.RawMessage) *Error {
	raw, ok := attrs["specversion"]
	if !ok {
		return Errorf(CodeMissingAttribute,
			`the event has no "specversion" attribute; set "specversion": "1.0" `+
				"(if the body is the data of a binary-mode event, send the ce-specversion header instead)")
	}
	var version string
	_ = json.Unmarshal(raw, &version) // checkAttributes made sure it is a string
	if version != event.CloudEventsVersionV1 {
		return InvalidSpecVersion(version)
	}
	return nil
}
