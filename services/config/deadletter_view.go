package config

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// credentialHeaders are left out of every dead letter view, whatever
// the connection marks, because they carry credentials by convention.
// Keys are in canonical form.
var credentialHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
}

// hiddenNames are the header and query names that a view leaves out
// for one API destination. Header names are in canonical form.
type hiddenNames struct {
	headers map[string]bool
	query   map[string]bool
}

func (h hiddenNames) header(name string) bool {
	name = http.CanonicalHeaderKey(name)
	return credentialHeaders[name] || h.headers[name]
}

// viewDeadLetters builds the public views of dead letters. It looks up
// each destination's connection once, to leave out the headers and
// query parameters that the connection marks as secret.
func (s *Service) viewDeadLetters(ctx context.Context, list []*storedDeadLetter,
) []*v1.DeadLetter {
	hidden := map[string]hiddenNames{}
	out := make([]*v1.DeadLetter, 0, len(list))
	for _, d := range list {
		dest := d.dl.GetTask().GetApiDestination()
		names, ok := hidden[dest]
		if !ok {
			names = s.secretNames(ctx, dest)
			hidden[dest] = names
		}
		out = append(out, viewDeadLetter(d, names))
	}
	return out
}

// secretNames returns the names that the connection of an API
// destination marks as secret: its API key header and its secret
// invocation parameters. Without a destination or connection it
// returns none, and the view still leaves out credentialHeaders. The
// credentials of a connection are not in a task anyway, because
// delivery adds them to each call.
func (s *Service) secretNames(ctx context.Context, destination string) hiddenNames {
	names := hiddenNames{headers: map[string]bool{}, query: map[string]bool{}}
	if checkName("api_destination", "the destination name", destination) != nil {
		return names
	}
	dest, err := s.destinations.get(ctx, destination, destinationLabel(destination))
	if err != nil {
		return names
	}
	conn, err := s.connections.get(ctx, dest.GetConnection(), connectionLabel(dest.GetConnection()))
	if err != nil {
		return names
	}

	if k := conn.GetApiKey(); k != nil {
		names.headers[http.CanonicalHeaderKey(k.GetHeaderName())] = true
	}
	for _, p := range conn.GetInvocationParameters() {
		if !p.GetSecret() {
			continue
		}
		switch p.GetLocation() {
		case v1.ParameterLocation_PARAMETER_LOCATION_HEADER:
			names.headers[http.CanonicalHeaderKey(p.GetKey())] = true
		case v1.ParameterLocation_PARAMETER_LOCATION_QUERY:
			names.query[p.GetKey()] = true
		}
	}
	return names
}

// viewDeadLetter turns a stored dead letter into its public view. The
// event and the body are bytes in a task, but protobuf strings must be
// valid UTF-8, so invalid sequences become U+FFFD.
func viewDeadLetter(d *storedDeadLetter, hidden hiddenNames) *v1.DeadLetter {
	dl, task := d.dl, d.dl.GetTask()
	return &v1.DeadLetter{
		Id:               d.id(),
		Bus:              task.GetBus(),
		Rule:             task.GetRule(),
		TargetId:         task.GetTargetId(),
		ApiDestination:   task.GetApiDestination(),
		EventId:          task.GetEventId(),
		EventSource:      task.GetEventSource(),
		ErrorCode:        dl.GetErrorCode(),
		ErrorMessage:     dl.GetErrorMessage(),
		LastStatusCode:   dl.GetLastStatusCode(),
		ResponseExcerpt:  dl.GetResponseExcerpt(),
		Attempts:         dl.GetAttempts(),
		FirstAttemptTime: dl.GetFirstAttemptTime(),
		LastAttemptTime:  dl.GetLastAttemptTime(),
		DeadLetterTime:   timestamppb.New(d.stored),
		Event:            validText(string(task.GetEvent())),
		RedriveCount:     task.GetRedriveCount(),
		Request:          viewRequest(task.GetRequest(), hidden),
	}
}

func viewRequest(r *internalv1.RenderedRequest, hidden hiddenNames) *v1.DeadLetterRequest {
	if r == nil {
		return nil
	}
	out := &v1.DeadLetterRequest{
		PathValues:  r.GetPathValues(),
		Headers:     map[string]string{},
		Query:       map[string]string{},
		Body:        validText(string(r.GetBody())),
		ContentType: r.GetContentType(),
	}
	for _, h := range r.GetHeaders() {
		if !hidden.header(h.GetName()) {
			addValue(out.Headers, h.GetName(), h.GetValue())
		}
	}
	for _, q := range r.GetQuery() {
		if !hidden.query[q.GetName()] {
			addValue(out.Query, q.GetName(), q.GetValue())
		}
	}
	return out
}

// addValue stores a repeated name's values joined by commas, as HTTP
// joins repeated headers.
func addValue(m map[string]string, name, value string) {
	if old, ok := m[name]; ok {
		value = old + ", " + value
	}
	m[name] = value
}

func validText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
