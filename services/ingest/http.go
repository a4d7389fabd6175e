package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
)

// Response is the body of every response to POST /v1/buses/{bus}/events.
//
// Entries holds one result per event, in request order. The status is
// 200 when the request was read: for a batch that holds even when some
// or all entries failed, so a client must check FailedEntryCount. A
// single event (structured or binary mode) that fails gets the status of
// its failure, and ErrorCode and ErrorMessage repeat the entry's. A
// request that fails as a whole (unknown bus, malformed batch, wrong
// Content-Type, body too large) has no entries, only ErrorCode and
// ErrorMessage, and stores nothing.
type Response struct {
	FailedEntryCount int           `json:"failed_entry_count"`
	Entries          []ResultEntry `json:"entries"`
	ErrorCode        string        `json:"error_code,omitempty"`
	ErrorMessage     string        `json:"error_message,omitempty"`
}

// ResultEntry is the result of one event: its id when stored, or an
// error code and message when not. An InternalFailure entry carries the
// event id as well, so a retry can reuse it.
type ResultEntry struct {
	EventID      string `json:"event_id,omitempty"`
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
}

func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/buses/{bus}/events",
		s.obs.instrumentHandler(http.HandlerFunc(s.putEvents), "ingest.put_events"))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	return mux
}

// putEvents stores the events of one request. It responds only after
// every valid event is stored or has failed to store, so an event_id in
// the response means the event is in the EVENTS stream.
func (s *Service) putEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bus := r.PathValue("bus")
	if f := checkBusName(bus); f != nil {
		s.rejectRequest(ctx, w, f)
		return
	}
	if _, f := requestMode(r.Header); f != nil {
		s.rejectRequest(ctx, w, f)
		return
	}
	if f := s.buses.check(ctx, bus); f != nil {
		s.rejectRequest(ctx, w, f)
		return
	}

	body, f := readBody(w, r)
	if f != nil {
		s.rejectRequest(ctx, w, f)
		return
	}
	now := time.Now()
	entries, m, f := decodeRequest(r.Header, body, now)
	if f != nil {
		s.rejectRequest(ctx, w, f)
		return
	}

	s.store(ctx, bus, entries, now, time.Now())
	writeEntries(w, entries, m == modeBatch)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *failure) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fail(CodeRequestTooLarge,
			"the request body exceeds %d bytes; split the events into several requests",
			MaxRequestSize)
	case err != nil:
		return nil, fail(CodeMalformedEvent, "reading the request body failed: %v", err)
	}
	return body, nil
}

// store publishes the valid entries and turns each failed publish into an
// InternalFailure entry. Each entry gets its receive span, which starts
// at received, and a validate span that ends at validated.
func (s *Service) store(ctx context.Context, bus string, entries []entry,
	received, validated time.Time) {
	traces := make([]*eventTrace, len(entries))
	var msgs []*nats.Msg
	var indexes []int
	for i, e := range entries {
		traces[i] = s.obs.startEvent(ctx, transportHTTP, bus, e, received, validated)
		if e.err == nil {
			storeCtx := traces[i].startStore()
			msgs = append(msgs, s.eventMsg(storeCtx, bus, e.event, e.stored, received))
			indexes = append(indexes, i)
		}
	}

	for j, err := range publishAll(s.js, msgs) {
		if err == nil {
			continue
		}
		e := &entries[indexes[j]]
		s.storeFailures.warnContext(traces[indexes[j]].ctx, s.log, "event not stored",
			"bus", bus, "event_id", e.event.ID(), "error", err)
		e.err = fail(CodeInternalFailure,
			"the event could not be stored: %v; retry with the same source and id", err)
	}
	for i, t := range traces {
		t.end(entries[i].err)
	}
}

func writeEntries(w http.ResponseWriter, entries []entry, batch bool) {
	resp := Response{Entries: make([]ResultEntry, len(entries))}
	for i, e := range entries {
		// A failed store keeps its event, whose id the client needs to
		// retry without storing the event twice.
		if e.event != nil {
			resp.Entries[i].EventID = e.event.ID()
		}
		if e.err != nil {
			resp.FailedEntryCount++
			resp.Entries[i].ErrorCode, resp.Entries[i].ErrorMessage = e.err.Code, e.err.Message
		}
	}

	status := http.StatusOK
	if f := entries[0].err; !batch && f != nil {
		status = httpStatus(f)
		resp.ErrorCode, resp.ErrorMessage = f.Code, f.Message
	}
	writeJSON(w, status, resp)
}

func writeFailure(w http.ResponseWriter, f *failure) {
	resp := Response{Entries: []ResultEntry{}, ErrorCode: f.Code, ErrorMessage: f.Message}
	writeJSON(w, httpStatus(f), resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding error here means the client went away; there is no one
	// left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// healthz returns 200 while the process serves HTTP.
func (s *Service) healthz(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok\n")
}

// readyz returns 200 while the NATS connection is up, and 503 otherwise,
// because without NATS no event can be stored.
func (s *Service) readyz(w http.ResponseWriter, _ *http.Request) {
	if st := s.cfg.NATS.Status(); st != nats.CONNECTED {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "nats "+st.String()+"\n")
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok\n")
}
