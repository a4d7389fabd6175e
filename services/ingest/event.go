package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
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
			ev, f := cloudevent.DecodeStructured(raw)
			entries[i] = newEntry(ev, f, now)
		}
		return entries, m, nil
	}

	var ev *event.Event
	if m == modeBinary {
		ev, f = decodeBinary(header, body)
	} else {
		ev, f = cloudevent.DecodeStructured(body)
	}
	return []entry{newEntry(ev, f, now)}, m, nil
}

// newEntry turns a decoding result into an entry, completing the event
// when decoding succeeded.
func newEntry(ev *event.Event, f *failure, now time.Time) entry {
	if f != nil {
		return entry{err: f}
	}
	stored, f := cloudevent.Complete(ev, now, "")
	if f != nil {
		return entry{err: f}
	}
	return entry{event: ev, stored: stored}
}

// decodeBatch splits a batch body into its entries without parsing them,
// so one bad entry fails alone.
func decodeBatch(body []byte) ([]json.RawMessage, *failure) {
	var raws []json.RawMessage
	err := json.Unmarshal(body, &raws)
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &syntaxErr):
		return nil, fail(CodeMalformedEvent,
			"the batch is not valid JSON: %v (at byte %d); send a JSON array of CloudEvents objects",
			syntaxErr, syntaxErr.Offset)
	case err != nil:
		return nil, fail(CodeMalformedEvent,
			"the batch is %s, not an array; send a JSON array of CloudEvents objects, or one "+
				"event with Content-Type %s", cloudevent.JSONKind(body), mediaStructured)
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

// decodeBinary parses an event in binary mode: attributes in ce-*
// headers, the data in the body, its media type in Content-Type.
func decodeBinary(header http.Header, body []byte) (*event.Event, *failure) {
	if version := header.Get("Ce-Specversion"); version != event.CloudEventsVersionV1 {
		return nil, cloudevent.InvalidSpecVersion(version)
	}
	if _, ok := header["Ce-"]; ok {
		return nil, fail(CodeInvalidAttribute,
			`header "ce-" names no attribute; remove it or name the extension, as in "ce-myext"`)
	}
	if f := cloudevent.CheckSource(`header "ce-source"`, header.Get("Ce-Source")); f != nil {
		return nil, f
	}
	if value := header.Get("Ce-Time"); value != "" {
		if _, err := types.ParseTime(value); err != nil {
			return nil, cloudevent.InvalidTime(`header "ce-time"`, value)
		}
	}
	mediaType := dataMediaType(header.Get("Content-Type"))
	if f := checkBinaryData(mediaType, body); f != nil {
		return nil, f
	}

	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	var ev *event.Event
	err := cloudevent.ParseSafely(func() (err error) {
		ev, err = binding.ToEvent(context.Background(), msg)
		return err
	})
	if err != nil {
		return nil, cloudevent.SDKError(CodeInvalidAttribute, "a ce-* header is invalid", err)
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
