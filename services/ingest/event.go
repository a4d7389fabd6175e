package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// Limits of the HTTP API. A single event is further bounded by
// streams.MaxEventSize, measured on the JSON that is stored.
const (
	// MaxRequestSize bounds an HTTP request body in bytes, one event or
	// a batch alike.
	MaxRequestSize = 4 << 20
	// MaxBatchEntries bounds the events of one batch request.
	MaxBatchEntries = 100
)

// Media types that select the CloudEvents HTTP content modes.
const (
	mediaStructured = event.ApplicationCloudEventsJSON
	mediaBatch      = event.ApplicationCloudEventsBatchJSON
	mediaJSON       = event.ApplicationJSON
)

// stringAttributes must be JSON strings in structured mode. The SDK's
// parser coerces or mis-slices other JSON types, so they are rejected
// before it runs.
var stringAttributes = []string{
	"specversion", "id", "source", "type", "subject", "time",
	"datacontenttype", "dataschema", "data_base64",
}

// entry is one event of a request: either stored (the CloudEvents JSON
// to store) with its parsed event, or the failure that rejected it.
type entry struct {
	event  *event.Event
	stored []byte
	err    *failure
}

// mode is a CloudEvents HTTP content mode.
type mode int

const (
	modeStructured mode = iota
	modeBatch
	modeBinary
)

// requestMode chooses the content mode from the request headers, as the
// CloudEvents HTTP binding does: a CloudEvents media type means
// structured or batch mode, a ce-specversion header means binary mode.
// Plain application/json without ce-specversion is read as a structured
// envelope.
func requestMode(header http.Header) (mode, *failure) {
	contentType := header.Get("Content-Type")
	mediaType := ""
	if contentType != "" {
		parsed, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return 0, unsupportedMediaType(contentType)
		}
		mediaType = parsed
	}

	switch {
	case mediaType == mediaStructured:
		return modeStructured, nil
	case mediaType == mediaBatch:
		return modeBatch, nil
	case header.Get("Ce-Specversion") != "":
		return modeBinary, nil
	case mediaType == mediaJSON:
		return modeStructured, nil
	case hasCloudEventsHeaders(header):
		return 0, fail(CodeMissingAttribute,
			`binary mode needs the ce-specversion header; set "ce-specversion: 1.0"`)
	default:
		return 0, unsupportedMediaType(contentType)
	}
}

func unsupportedMediaType(contentType string) *failure {
	return fail(CodeUnsupportedMediaType,
		"Content-Type %q is not accepted; send %s (one event), %s (a JSON array of events), "+
			"or the data with ce-specversion, ce-source and ce-type headers (binary mode)",
		contentType, mediaStructured, mediaBatch)
}

func hasCloudEventsHeaders(header http.Header) bool {
	for key := range header {
		if strings.HasPrefix(key, "Ce-") {
			return true
		}
	}
	return false
}

// decodeRequest parses a request body in the mode its headers select and
// completes every event, filling id and time from now. A failure of the
// request as a whole comes back alone, and then nothing may be stored.
// Otherwise every entry carries either stored JSON or its failure.
func decodeRequest(header http.Header, body []byte, now time.Time) ([]entry, mode, *failure) {
	m, f := requestMode(header)
	if f != nil {
		return nil, m, f
	}

	if m == modeBatch {
		raws, f := decodeBatch(body)
		if f != nil {
			return nil, m, f
		}
		entries := make([]entry, len(raws))
		for i, raw := range raws {
			ev, f := decodeStructured(raw)
			entries[i] = newEntry(ev, f, now)
		}
		return entries, m, nil
	}

	var ev *event.Event
	if m == modeBinary {
		ev, f = decodeBinary(header, body)
	} else {
		ev, f = decodeStructured(body)
	}
	return []entry{newEntry(ev, f, now)}, m, nil
}

// newEntry turns a decoding result into an entry, completing the event
// when decoding succeeded.
func newEntry(ev *event.Event, f *failure, now time.Time) entry {
	if f != nil {
		return entry{err: f}
	}
	stored, f := complete(ev, now, "")
	if f != nil {
		return entry{err: f}
	}
	return entry{event: ev, stored: stored}
}

// decodeBatch splits a batch body into its entries without parsing them,
// so one bad entry fails alone.
func decodeBatch(body []byte) ([]json.RawMessage, *failure) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, fail(CodeMalformedEvent,
			"the batch is not a JSON array of events: %v; send a JSON array of CloudEvents objects",
			err)
	}
	if len(raws) == 0 {
		return nil, fail(CodeMalformedEvent,
			"the batch is empty; send a JSON array of 1 to %d events", MaxBatchEntries)
	}
	if len(raws) > MaxBatchEntries {
		return nil, fail(CodeTooManyEntries,
			"the batch holds %d events, over the limit of %d; split it into several requests",
			len(raws), MaxBatchEntries)
	}
	return raws, nil
}

// decodeStructured parses one event in the CloudEvents JSON format.
func decodeStructured(raw []byte) (*event.Event, *failure) {
	attrs, f := decodeObject(raw)
	if f != nil {
		return nil, f
	}
	if f := checkAttributes(attrs); f != nil {
		return nil, f
	}
	if f := checkSpecVersion(attrs); f != nil {
		return nil, f
	}

	// The SDK's own decoder, without encoding/json around it: that would
	// scan the event for validity once more, which decodeObject did.
	ev := event.New()
	err := parseSafely(func() error { return ev.UnmarshalJSON(raw) })
	if err != nil {
		return nil, sdkFailure(CodeMalformedEvent, "the event is not a valid CloudEvent", err)
	}
	return &ev, nil
}

func decodeObject(raw []byte) (map[string]json.RawMessage, *failure) {
	var attrs map[string]json.RawMessage
	err := json.Unmarshal(raw, &attrs)

	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return nil, fail(CodeMalformedEvent,
			"the event is not valid JSON: %v (at byte %d); send a JSON object",
			syntaxErr, syntaxErr.Offset)
	case errors.As(err, &typeErr):
		return nil, fail(CodeMalformedEvent,
			"the event is a JSON %s, not an object; send a JSON object with "+
				"specversion, source and type", typeErr.Value)
	case err != nil:
		return nil, fail(CodeMalformedEvent, "the event is not valid JSON: %v", err)
	case attrs == nil:
		return nil, fail(CodeMalformedEvent,
			"the event is JSON null; send a JSON object with specversion, source and type")
	}
	return attrs, nil
}

// contextAttributes are the attribute names of CloudEvents 1.0 that are
// not extensions, with data and data_base64.
var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
}

// checkAttributes rejects what the SDK's parser would mishandle: context
// attributes that are not strings, and extensions that it would rename
// or truncate (it lowercases names and cuts 1.5 to 1).
func checkAttributes(attrs map[string]json.RawMessage) *failure {
	for _, name := range stringAttributes {
		value, ok := attrs[name]
		if ok && !isJSONString(value) {
			return fail(CodeInvalidAttribute,
				"attribute %q is %s, not a JSON string; send it as a string", name, value)
		}
	}
	_, hasData := attrs["data"]
	if _, hasBase64 := attrs["data_base64"]; hasData && hasBase64 {
		return fail(CodeInvalidAttribute,
			`the event has both "data" and "data_base64"; send only one of them`)
	}
	if f := checkEncodedValues(attrs); f != nil {
		return f
	}

	names := make([]string, 0, len(attrs))
	for name := range attrs {
		if !contextAttributes[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if f := checkExtension(name, attrs[name]); f != nil {
			return f
		}
	}
	return nil
}

// checkEncodedValues checks "time" and "data_base64" with the parsers
// the SDK uses, so that the error names the attribute and the fix
// instead of passing on the SDK's conversion message.
func checkEncodedValues(attrs map[string]json.RawMessage) *failure {
	var value string
	if raw, ok := attrs["time"]; ok && json.Unmarshal(raw, &value) == nil {
		if _, err := types.ParseTime(value); err != nil {
			return invalidTime(`attribute "time"`, value)
		}
	}
	if raw, ok := attrs["data_base64"]; ok && json.Unmarshal(raw, &value) == nil {
		if _, err := types.ParseBinary(value); err != nil {
			return fail(CodeInvalidAttribute,
				`attribute "data_base64" is not valid base64 (%v); encode the data in standard `+
					`base64 with padding, or send JSON data in "data" instead`, err)
		}
	}
	return nil
}

// invalidTime is the failure for a time that is not RFC 3339, in the
// attribute or header that what names.
func invalidTime(what, value string) *failure {
	return fail(CodeInvalidAttribute,
		"%s is %q, not an RFC 3339 timestamp; send one such as "+
			`"2026-12-04T10:00:00Z", or leave it out to have the receive time filled in`,
		what, value)
}

func checkExtension(name string, value json.RawMessage) *failure {
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return fail(CodeInvalidAttribute,
				"attribute name %q is invalid; CloudEvents attribute names use only "+
					"lowercase letters a-z and digits", name)
		}
	}
	if name == "" || !isExtensionValue(value) {
		return fail(CodeInvalidAttribute,
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

func checkSpecVersion(attrs map[string]json.RawMessage) *failure {
	raw, ok := attrs["specversion"]
	if !ok {
		return fail(CodeMissingAttribute,
			`the event has no "specversion" attribute; set "specversion": "1.0" `+
				"(if the body is the data of a binary-mode event, send the ce-specversion header instead)")
	}
	var version string
	_ = json.Unmarshal(raw, &version) // checkAttributes made sure it is a string
	if version != event.CloudEventsVersionV1 {
		return invalidSpecVersion(version)
	}
	return nil
}

func invalidSpecVersion(version string) *failure {
	return fail(CodeInvalidAttribute,
		`attribute "specversion" is %q, but only "1.0" is accepted`, version)
}

// decodeBinary parses an event in binary mode: attributes in ce-*
// headers, the data in the body, its media type in Content-Type.
func decodeBinary(header http.Header, body []byte) (*event.Event, *failure) {
	if version := header.Get("Ce-Specversion"); version != event.CloudEventsVersionV1 {
		return nil, invalidSpecVersion(version)
	}
	if _, ok := header["Ce-"]; ok {
		return nil, fail(CodeInvalidAttribute,
			`header "ce-" names no attribute; remove it or name the extension, as in "ce-myext"`)
	}
	if value := header.Get("Ce-Time"); value != "" {
		if _, err := types.ParseTime(value); err != nil {
			return nil, invalidTime(`header "ce-time"`, value)
		}
	}
	mediaType := dataMediaType(header.Get("Content-Type"))
	if f := checkBinaryData(mediaType, body); f != nil {
		return nil, f
	}

	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	var ev *event.Event
	err := parseSafely(func() (err error) {
		ev, err = binding.ToEvent(context.Background(), msg)
		return err
	})
	if err != nil {
		return nil, sdkFailure(CodeInvalidAttribute, "a ce-* header is invalid", err)
	}

	// Data that is neither JSON nor text travels as data_base64, so the
	// stored JSON stays valid UTF-8.
	if !storedAsJSON(mediaType) && !utf8.Valid(ev.DataEncoded) {
		ev.DataBase64 = true
	}
	return ev, nil
}

// storedAsJSON reports whether the SDK writes data of this media type
// into the JSON envelope as it is. For any other type it writes a string.
//
// NOTE: the SDK (v2.16) treats only application/json and text/json as
// JSON, so types such as application/vnd.example+json are stored as a
// string in binary mode and fail to parse in structured mode when the
// data is not a string.
func storedAsJSON(mediaType string) bool {
	return mediaType == "" || mediaType == mediaJSON || mediaType == "text/json"
}

func dataMediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	if parsed, _, err := mime.ParseMediaType(contentType); err == nil {
		return parsed
	}
	base, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(base))
}

func checkBinaryData(mediaType string, body []byte) *failure {
	if len(body) == 0 || !storedAsJSON(mediaType) || json.Valid(body) {
		return nil
	}
	if mediaType == "" {
		return fail(CodeMalformedEvent,
			"the body is not valid JSON, and data without a Content-Type is stored as JSON; "+
				"set Content-Type to the media type of the data")
	}
	return fail(CodeMalformedEvent,
		"the body is not valid JSON although Content-Type is %s; fix the body or the Content-Type",
		mediaType)
}

// parseSafely runs an SDK parse and turns a panic into an error: the
// parser reads untrusted input, and one request must not stop the
// service.
func parseSafely(parse func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser failed: %v", r)
		}
	}()
	return parse()
}

// sdkFailure describes an SDK error. A validation error names each
// attribute, so it is an InvalidAttribute whatever the default code.
func sdkFailure(code, what string, err error) *failure {
	var invalid event.ValidationError
	if errors.As(err, &invalid) {
		return fail(CodeInvalidAttribute, "%s: %s", what, describeValidation(invalid))
	}
	return fail(code, "%s: %v", what, err)
}

func describeValidation(invalid event.ValidationError) string {
	names := make([]string, 0, len(invalid))
	for name := range invalid {
		names = append(names, name)
	}
	slices.Sort(names)

	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("attribute %q: %v", name, invalid[name])
	}
	return strings.Join(parts, "; ")
}

// complete checks the required attributes, fills a missing id (with
// fallbackID, or a random UUID when that is empty) and a missing time,
// validates the event against CloudEvents 1.0 and returns the JSON to
// store, which must fit streams.MaxEventSize.
func complete(ev *event.Event, now time.Time, fallbackID string) ([]byte, *failure) {
	if ev.SpecVersion() != event.CloudEventsVersionV1 {
		return nil, invalidSpecVersion(ev.SpecVersion())
	}
	if strings.TrimSpace(ev.Source()) == "" {
		return nil, fail(CodeMissingAttribute,
			`the event has no "source" attribute (ce-source in binary mode); `+
				`set it to a URI-reference naming the producer, such as "/ci/jenkins"`)
	}
	if strings.TrimSpace(ev.Type()) == "" {
		return nil, fail(CodeMissingAttribute,
			`the event has no "type" attribute (ce-type in binary mode); `+
				`set it to the kind of event, such as "com.example.build.finished"`)
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
		return nil, sdkFailure(CodeInvalidAttribute, "the event is not a valid CloudEvent", err)
	}

	// MarshalJSON writes compact JSON itself. Going through json.Marshal
	// would scan and copy it again, and escape <, > and & in strings.
	stored, err := ev.MarshalJSON()
	if err != nil {
		return nil, fail(CodeMalformedEvent, "the event could not be written as JSON: %v", err)
	}
	if len(stored) > streams.MaxEventSize {
		return nil, fail(CodeEventTooLarge,
			"the event is %d bytes as stored JSON, over the limit of %d bytes; "+
				"store large payloads elsewhere and send a reference",
			len(stored), streams.MaxEventSize)
	}
	return stored, nil
}
