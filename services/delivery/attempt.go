package delivery

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// excerptSize is how much of a response body a dead letter keeps.
const excerptSize = 1 << 10

// drainSize bounds how much of a response body is read and discarded
// so its connection can serve the next request.
const drainSize = 64 << 10

const redacted = "[REDACTED]"

// attemptResult is one HTTP call and its classification.
type attemptResult struct {
	number   int
	start    time.Time
	duration time.Duration
	// status is zero when no response came.
	status   int
	location string
	// retryAfter is the delay a Retry-After header asked for; zero
	// when absent or invalid.
	retryAfter time.Duration
	excerpt    string
	outcome    retry.Outcome
	// connection is the one the attempt used, and token the OAuth access
	// token it sent, if any. Neither is ever stored: the token is kept
	// to invalidate it after a 401 and to remove it from what is stored.
	connection *v1.Connection
	token      string
	// tokenStatus is the HTTP status of a failed token request, else 0.
	tokenStatus int
	// crumb is the Jenkins session whose crumb the call sent, if any.
	crumb *crumbSession
}

// record returns the attempt as stored in the delivery record.
func (r attemptResult) record() *v1.Attempt {
	return &v1.Attempt{
		Number:     int32(r.number),
		StartTime:  timestamppb.New(r.start),
		Duration:   durationpb.New(r.duration),
		StatusCode: int32(r.status),
		Error:      r.outcome.Reason,
		Location:   r.location,
	}
}

// attempt makes one HTTP call for task within the destination's
// timeout. Secrets of the connection are removed from the reason and
// the excerpt.
func (s *Service) attempt(ctx context.Context, task *internalv1.DeliveryTask,
	r *internalv1.ResolvedDestination, number int) attemptResult {
	timeout := DefaultTimeout
	if d := r.GetApiDestination().GetTimeout().AsDuration(); d > 0 {
		timeout = min(d, MaxTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx, span := s.startAttempt(ctx, number)

	res := attemptResult{number: number, start: time.Now(), connection: r.GetConnection()}
	status, err := s.call(ctx, task, r, &res)
	if err == nil && isCrumbRejection(status, res.excerpt, r.GetConnection()) {
		status, err = s.callWithCrumb(ctx, task, r, &res)
	}
	res.duration = time.Since(res.start)
	res.status = status

	res.outcome = retry.Classify(status, err, res.location)
	switch res.outcome.Code {
	case retry.CodeTimeout:
		res.outcome.Reason = fmt.Sprintf("no response within %s", timeout)
	case retry.CodeNetworkRefused:
		res.outcome.Reason += networkFix(r.GetConnection())
	}
	res.outcome.Reason = redact(res.outcome.Reason, secretsOf(r.GetConnection(), res.token))
	s.endAttempt(ctx, span, task, res)
	return res
}

// call sends the request and reads what res keeps of the response. It
// returns the status code, or an error when no response came.
func (s *Service) call(ctx context.Context, task *internalv1.DeliveryTask,
	r *internalv1.ResolvedDestination, res *attemptResult) (int, error) {
	req, err := buildRequest(ctx, task, r, s.userAgent)
	if err != nil {
		return 0, err
	}
	client := s.clients.forNetwork(r.GetConnection().GetNetwork())
	res.token, err = s.signer.Sign(ctx, req, r.GetConnection(), client)
	if err != nil {
		res.tokenStatus = tokenStatus(err)
		return 0, signError(r.GetConnection().GetName(), err)
	}
	if session := s.crumbs.lookup(r.GetConnection()); session != nil {
		req.Header.Set(session.field, session.value)
		client = session.client(client)
		res.crumb = session
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	res.location = resp.Header.Get("Location")
	if d, ok := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		res.retryAfter = d
	} else if v := resp.Header.Get("Retry-After"); v != "" {
		s.log.WarnContext(ctx, "ignoring invalid Retry-After header",
			"destination", task.GetApiDestination(), "value", v)
	}
	res.excerpt = readExcerpt(resp.Body, secretsOf(r.GetConnection(), res.token))
	_, _ = io.CopyN(io.Discard, resp.Body, drainSize)
	return resp.StatusCode, nil
}

// readExcerpt reads the start of body with secrets removed. It reads a
// secret's length past the excerpt so that a secret cut at the end is
// still found.
func readExcerpt(body io.Reader, secrets []string) string {
	longest := 0
	for _, s := range secrets {
		longest = max(longest, len(s))
	}
	buf, _ := io.ReadAll(io.LimitReader(body, int64(excerptSize+longest)))
	text := redact(string(buf), secrets)
	if len(text) > excerptSize {
		text = text[:excerptSize]
	}
	return strings.ToValidUTF8(text, "\uFFFD")
}

func redact(text string, secrets []string) string {
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, redacted)
	}
	return text
}
