package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/records"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// delivery is the state of one task while a worker holds it.
type delivery struct {
	job
	log    *slog.Logger
	key    string
	policy retry.Policy
	// deadline is when the task's max event age runs out.
	deadline time.Time
	// earlier holds the attempts of this run made before this message
	// delivery, from the record.
	earlier priorAttempts
	// record is the record as read at the start, for the first update.
	record *records.Snapshot
	// attempts made by this worker, in order.
	attempts []attemptResult
	// span is the processing span, for bookkeeping that runs on
	// contexts of its own.
	span trace.Span
}

// decode reads the task of msg. A message that is not a task is
// terminated, since no redelivery can make it one.
func (s *Service) decode(msg jetstream.Msg) (job, bool) {
	task := &internalv1.DeliveryTask{}
	meta, err := msg.Metadata()
	if err == nil {
		err = proto.Unmarshal(msg.Data(), task)
	}
	if err != nil {
		s.log.Error("dropping undecodable delivery task",
			"subject", msg.Subject(), "error", err)
		if err := msg.TermWithReason("undecodable delivery task"); err != nil {
			s.log.Warn("terminate message failed", "error", err)
		}
		return job{}, false
	}
	return job{msg: msg, meta: meta, task: task}, true
}

// handle makes the next attempt of a task and settles its message:
// acked when delivered or failed for good, returned with a delay when
// it is to be retried, returned at once when the service stops first.
func (s *Service) handle(ctx context.Context, j job) {
	ctx, span := s.startProcess(ctx, j)
	defer span.End()
	d := s.newDelivery(ctx, j)
	if time.Now().After(d.deadline) {
		s.failForGood(d, retry.Outcome{Kind: retry.Fail, Code: retry.CodeMaxAgeExceeded,
			Reason: fmt.Sprintf("event older than the max event age of %s", d.policy.MaxEventAge)})
		return
	}

	dest := j.task.GetApiDestination()
	resolved, err := s.cache.get(ctx, dest)
	if err != nil {
		s.resolveFailed(ctx, d, err)
		return
	}
	s.sched.expand(ctx, dest)
	if !s.admit(ctx, d, resolved) {
		return
	}
	if mayOutliveAckWait(j) {
		extendAckWait(j, d.log)
	}

	number := d.earlier.count + 1
	res := s.attempt(ctx, j.task, resolved, number)
	if ctx.Err() != nil {
		s.flow.breakers.release(dest)
		nak(s.log, j)
		return
	}
	d.attempts = append(d.attempts, res)

	if credentialRejected(res) && d.policy.CanRetry(number) {
		var aborted bool
		if res, aborted = s.retryWithFreshCredentials(ctx, d, res); aborted {
			s.flow.breakers.release(dest)
			nak(s.log, j)
			return
		}
	}
	s.recordCircuit(d, res)
	s.recordConnectionState(res)
	s.settle(d, res)
}

// mayOutliveAckWait reports whether an attempt on j might not finish
// within the ack wait left. The message metadata carries no delivery
// time, so on a first delivery the time since the message was stored is
// used, which is never less than the time since delivery. A redelivered
// message may be far older than its delivery, so it is always extended.
func mayOutliveAckWait(j job) bool {
	return j.meta.NumDelivered > 1 || time.Since(j.meta.Timestamp) > extendAfter
}

// extendAckWait restarts the ack wait of j's message.
func extendAckWait(j job, log *slog.Logger) {
	if err := j.msg.InProgress(); err != nil {
		log.Debug("extend ack deadline failed", "error", err)
	}
}

// retryWithFreshCredentials drops the rejected OAuth token and resolves
// the destination again after a rejected credential, which may have
// been rotated or revoked since it was cached. It makes one more
// attempt at once when the credential changed. Otherwise the rejection
// stays an ordinary failed attempt, retried with backoff, so that a
// wrong password does not cost a second failed login at once. It
// returns the last attempt, and whether the service stopped during the
// call.
func (s *Service) retryWithFreshCredentials(ctx context.Context, d *delivery,
	last attemptResult) (attemptResult, bool) {
	// The first attempt used up to a timeout of the ack wait, and the
	// resolve and a token request may take a while.
	extendAckWait(d.job, d.log)
	s.signer.Invalidate(ctx, last.connection, last.token)
	dest := d.task.GetApiDestination()
	s.cache.drop(ctx, dest)
	fresh, err := s.cache.get(ctx, dest)
	if err != nil {
		d.log.Warn("resolve destination failed", "error", err)
		return last, ctx.Err() != nil
	}
	changed, err := s.credentialChanged(ctx, last, fresh.GetConnection())
	if err != nil {
		// The next attempt requests a token again and records the error.
		d.log.Warn("token request after a rejected token failed",
			"connection", last.connection.GetName(), "error", err)
		return last, ctx.Err() != nil
	}
	if !changed {
		// Every task of a connection with a wrong password gets here.
		s.throttledLogs.Log(d.spanContext(), d.log, slog.LevelInfo, "credential "+dest,
			"credential rejected and unchanged; retrying with backoff",
			"attempt", last.number, "status", last.status,
			"connection", last.connection.GetName())
		return last, false
	}

	d.log.Info("credential rejected; calling again with the updated credential",
		"attempt", last.number, "status", last.status,
		"connection", fresh.GetConnection().GetName())
	extendAckWait(d.job, d.log)
	res := s.attempt(ctx, d.task, fresh, last.number+1)
	if ctx.Err() != nil {
		return res, true
	}
	d.attempts = append(d.attempts, res)
	return res, false
}

// credentialChanged reports whether a call with conn, just resolved,
// would send other credentials than the rejected call in last. That is
// so when conn is another connection or another revision, or when its
// OAuth token endpoint issued a new token in place of the rejected one,
// which the caller has invalidated.
func (s *Service) credentialChanged(ctx context.Context, last attemptResult,
	conn *v1.Connection) (bool, error) {
	used := last.connection
	if conn.GetName() != used.GetName() || conn.GetRevision() != used.GetRevision() {
		return true, nil
	}
	client := s.clients.forNetwork(conn.GetNetwork())
	return s.signer.TokenReplaced(ctx, conn, last.token, client)
}

func (s *Service) newDelivery(ctx context.Context, j job) *delivery {
	t := j.task
	d := &delivery{
		job: j,
		log: spanLogger(ctx, s.log).With("event_id", t.GetEventId(), "rule", t.GetRule(),
			"target", t.GetTargetId(), "destination", t.GetApiDestination()),
		key:    recordKey(t),
		policy: retry.PolicyFrom(t.GetRetryPolicy()),
	}
	origin := j.meta.Timestamp
	if t.GetIngestTime() != nil {
		origin = t.GetIngestTime().AsTime()
	}
	d.deadline = origin.Add(d.policy.MaxEventAge)
	d.span = trace.SpanFromContext(ctx)
	d.earlier = s.loadPriorAttempts(ctx, d)
	return d
}

// resolveFailed settles a task whose destination could not be resolved.
// A missing or unusable destination fails for good. Otherwise config is
// unreachable, and the task waits without counting an attempt.
func (s *Service) resolveFailed(ctx context.Context, d *delivery, err error) {
	if ctx.Err() != nil {
		nak(s.log, d.job)
		return
	}
	outcome := retry.Classify(0, err, "")
	if outcome.Kind == retry.Fail {
		s.failForGood(d, outcome)
		return
	}
	d.log.Warn("resolve destination failed; retrying later", "error", err)
	if err := d.msg.NakWithDelay(s.cfg.ResolveRetryDelay); err != nil {
		d.log.Warn("return message failed", "error", err)
	}
}

// settle acts on the outcome of the last attempt.
func (s *Service) settle(d *delivery, last attemptResult) {
	switch last.outcome.Kind {
	case retry.Success:
		s.delivered(d, last)
	case retry.Retry:
		s.retryLater(d, last)
	default:
		s.failForGood(d, last.outcome)
	}
}

func (s *Service) delivered(d *delivery, last attemptResult) {
	ctx, cancel := bookkeepingContext()
	defer cancel()
	s.updateRecord(ctx, d, delivered(last.location))
	s.observeDelivered(d, last)
	d.log.Debug("delivered", "attempt", last.number, "status", last.status)
	ack(d)
}

// retryLater returns the task with a backoff delay, or fails it for
// good when the policy allows no further attempt in time.
func (s *Service) retryLater(d *delivery, last attemptResult) {
	if !d.policy.CanRetry(last.number) {
		s.failForGood(d, retry.Outcome{Kind: retry.Fail, Code: retry.CodeRetriesExhausted,
			Reason: fmt.Sprintf("%d attempts failed, the last with %s: %s",
				last.number, last.outcome.Code, last.outcome.Reason)})
		return
	}

	delay := s.retryDelay(d, last)
	next := time.Now().Add(delay)
	if next.After(d.deadline) {
		s.failForGood(d, retry.Outcome{Kind: retry.Fail, Code: retry.CodeMaxAgeExceeded,
			Reason: fmt.Sprintf("next attempt would pass the max event age of %s; last %s: %s",
				d.policy.MaxEventAge, last.outcome.Code, last.outcome.Reason)})
		return
	}

	ctx, cancel := bookkeepingContext()
	defer cancel()
	s.updateRecord(ctx, d, retrying(next))
	s.throttledLogs.Log(d.spanContext(), d.log, slog.LevelInfo, "retry "+d.task.GetApiDestination(),
		"delivery attempt failed; retrying",
		"attempt", last.number, "status", last.status, "code", last.outcome.Code,
		"reason", last.outcome.Reason, "delay", delay)
	if err := d.msg.NakWithDelay(delay); err != nil {
		d.log.Warn("return message for retry failed", "error", err)
	}
}

// retryDelay is the backoff after an attempt, or the endpoint's
// Retry-After when that requests a longer delay, up to MaxRetryAfter.
func (s *Service) retryDelay(d *delivery, last attemptResult) time.Duration {
	delay := d.policy.Backoff(last.number)
	if last.retryAfter > delay {
		delay = min(last.retryAfter, s.cfg.MaxRetryAfter)
	}
	return delay
}

// failForGood dead-letters the task, or marks it failed when its target
// turned dead-lettering off, and acks it. When the dead letter cannot
// be stored, the task is returned to try again later.
func (s *Service) failForGood(d *delivery, outcome retry.Outcome) {
	ctx, cancel := bookkeepingContext()
	defer cancel()

	attrs := []any{"code", outcome.Code, "reason", outcome.Reason,
		"attempt", d.earlier.count + len(d.attempts)}
	if n := len(d.attempts); n > 0 {
		attrs = append(attrs, "status", d.attempts[n-1].status)
	}

	change := failed(outcome)
	if d.task.GetDeadLetter() {
		if err := s.publishDeadLetter(ctx, d, outcome); err != nil {
			d.log.Error("store dead letter failed; retrying later", "error", err)
			s.updateRecord(ctx, d, retrying(time.Now().Add(s.cfg.ResolveRetryDelay)))
			if err := d.msg.NakWithDelay(s.cfg.ResolveRetryDelay); err != nil {
				d.log.Warn("return message failed", "error", err)
			}
			return
		}
		change = deadLettered(outcome)
	}

	s.updateRecord(ctx, d, change)
	s.observeFailed(d, outcome)
	s.throttledLogs.Log(d.spanContext(), d.log, slog.LevelWarn, "fail "+d.task.GetApiDestination(),
		"delivery failed for good", attrs...)
	ack(d)
}

func ack(d *delivery) {
	if err := d.msg.Ack(); err != nil {
		d.log.Warn("ack delivery task failed", "error", err)
	}
}

// bookkeepingContext bounds the work after an attempt. It does not
// derive from the worker's context, so a stop does not interrupt it.
func bookkeepingContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), bookkeepingTimeout)
}
