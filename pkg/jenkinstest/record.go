package jenkinstest

import (
	"net/http"
	"net/url"
	"time"
)

// Request is a request that the server received, with the status it sent.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte

	// Time is when the request arrived, on the server clock.
	Time time.Time

	// Status is the HTTP status code the server sent.
	Status int
}

// Trigger is a build trigger that the server accepted. A trigger merged
// into an item already waiting in the queue is recorded too, with Merged
// set and the QueueID of that item.
type Trigger struct {
	// Job is the full name of the triggered job, such as "team/test".
	Job string

	// Endpoint is "build", "buildWithParameters" or
	// "generic-webhook-trigger/invoke".
	Endpoint string

	QueueID int64
	Merged  bool

	// Params are the values of the job's declared parameters, defaults
	// included. Nil for a job without parameters.
	Params map[string]string

	// User is the name of the authenticated user, or "anonymous".
	User string

	// Time is when the trigger was accepted, on the server clock.
	Time time.Time
}

func newRequest(r *http.Request, body []byte, received time.Time, status int) Request {
	return Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  cloneValues(r.URL.Query()),
		Header: r.Header.Clone(),
		Body:   append([]byte(nil), body...),
		Time:   received,
		Status: status,
	}
}

// Requests returns copies of all requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	requests := make([]Request, len(s.requests))
	for i, request := range s.requests {
		request.Query = cloneValues(request.Query)
		request.Header = request.Header.Clone()
		request.Body = append([]byte(nil), request.Body...)
		requests[i] = request
	}
	return requests
}

// Triggers returns the accepted triggers of a job, oldest first. It
// returns nil for an unknown job.
func (s *Server) Triggers(fullName string) []Trigger {
	s.mu.Lock()
	defer s.mu.Unlock()
	job, ok := s.jobs[fullName]
	if !ok {
		return nil
	}
	triggers := make([]Trigger, len(job.triggers))
	for i, trigger := range job.triggers {
		trigger.Params = cloneParams(trigger.Params)
		triggers[i] = trigger
	}
	return triggers
}

func cloneValues(values url.Values) url.Values {
	clone := make(url.Values, len(values))
	for key, list := range values {
		clone[key] = append([]string(nil), list...)
	}
	return clone
}

func cloneParams(params map[string]string) map[string]string {
	if params == nil {
		return nil
	}
	clone := make(map[string]string, len(params))
	for name, value := range params {
		clone[name] = value
	}
	return clone
}
