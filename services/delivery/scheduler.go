package delivery

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
)

// job is one fetched task, decoded, with the message that carries it.
type job struct {
	msg  jetstream.Msg
	meta *jetstream.MsgMetadata
	task *internalv1.DeliveryTask
}

// scheduler runs jobs under a global concurrency limit and a limit per
// destination, so one slow destination cannot hold back the others.
//
// The fetch loop calls submit for every message. A destination with a
// free slot starts a worker at once, which may wait for a global slot:
// that wait stops the fetch loop, which is right because no worker of
// any destination is free. A destination whose slots are all busy keeps
// the message in its waiting queue, and the worker that finishes next
// for that destination takes it, so a slow destination does not stop
// the fetch loop. Waiting messages get InProgress every keepAlive so
// JetStream does not redeliver them while they wait.
//
// A destination's limit comes from its cached configuration. Until the
// destination is cached, its limit is one, so the first call resolves
// it. Once resolved, and whenever a worker finishes a job, more workers
// start for the waiting jobs of the destination, up to the limit now
// known and as far as global slots are free.
//
// The waiting queues are bounded per destination and in total. Beyond
// that a message goes back to JetStream with NakWithDelay. That raises
// its NumDelivered without an HTTP call, which is why the attempt
// number comes from the delivery record, not from NumDelivered.
type scheduler struct {
	run             func(context.Context, job)
	limit           func(dest string) int
	log             *slog.Logger
	global          chan struct{}
	maxWaiting      int
	maxWaitingTotal int
	capacityDelay   time.Duration

	mu           sync.Mutex
	destinations map[string]*destinationQueue
	waitingTotal int
	stopping     bool
	workers      sync.WaitGroup
}

type destinationQueue struct {
	active  int
	waiting []job
}

func newScheduler(cfg Config, run func(context.Context, job), limit func(string) int) *scheduler {
	return &scheduler{
		run:             run,
		limit:           limit,
		log:             cfg.Logger,
		global:          make(chan struct{}, cfg.Concurrency),
		maxWaiting:      cfg.MaxWaitingPerDestination,
		maxWaitingTotal: cfg.MaxWaiting,
		capacityDelay:   cfg.CapacityDelay,
		destinations:    map[string]*destinationQueue{},
	}
}

// submit runs j now, queues it, or returns it to JetStream when its
// destination is at capacity. It blocks only for a global slot, until
// fetchCtx ends. Workers run with workCtx.
func (s *scheduler) submit(fetchCtx, workCtx context.Context, dest string, j job) {
	limit := s.limit(dest)
	s.mu.Lock()
	q := s.destinations[dest]
	if q == nil {
		q = &destinationQueue{}
		s.destinations[dest] = q
	}
	if q.active >= limit {
		queued := len(q.waiting) < s.waitingShare() && s.waitingTotal < s.maxWaitingTotal
		if queued {
			q.waiting = append(q.waiting, j)
			s.waitingTotal++
		}
		s.mu.Unlock()
		if !queued {
			s.returnForCapacity(j)
		}
		return
	}
	q.active++
	s.mu.Unlock()

	select {
	case s.global <- struct{}{}:
	case <-fetchCtx.Done():
		s.finish(dest)
		nak(s.log, j)
		return
	}
	s.workers.Add(1)
	go s.work(workCtx, dest, j)
}

// waitingShare is how many messages one destination may keep waiting:
// an equal share of the total among the destinations in use, and at
// least maxWaiting. A backlog for a few destinations then waits in
// memory instead of going back to JetStream and coming round again. With
// a share of 100 each, a pipeline benchmark of four destinations made a
// quarter more deliveries than tasks. s.mu must be held.
func (s *scheduler) waitingShare() int {
	return max(s.maxWaiting, s.maxWaitingTotal/max(len(s.destinations), 1))
}

// work runs j, then the jobs waiting for the same destination, keeping
// the destination's slot and the global slot between them.
func (s *scheduler) work(ctx context.Context, dest string, j job) {
	defer s.workers.Done()
	for {
		s.run(ctx, j)

		next, ok := s.next(ctx, dest)
		if !ok {
			<-s.global
			return
		}
		j = next
	}
}

// next pops the next waiting job of dest, or gives up dest's slot. It
// also starts workers for more waiting jobs while dest's limit allows.
func (s *scheduler) next(ctx context.Context, dest string) (job, bool) {
	limit := s.limit(dest)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.destinations[dest]
	if s.stopping || len(q.waiting) == 0 {
		s.finishLocked(dest, q)
		return job{}, false
	}
	j := s.popLocked(q)
	s.expandLocked(ctx, dest, q, limit)
	return j, true
}

// expand starts workers for the waiting jobs of dest while its limit
// allows and global slots are free. The service calls it once a
// destination is resolved and its limit known.
func (s *scheduler) expand(ctx context.Context, dest string) {
	limit := s.limit(dest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.destinations[dest]; q != nil && !s.stopping {
		s.expandLocked(ctx, dest, q, limit)
	}
}

func (s *scheduler) expandLocked(ctx context.Context, dest string, q *destinationQueue, limit int) {
	for len(q.waiting) > 0 && q.active < limit && s.tryGlobal() {
		q.active++
		s.workers.Add(1)
		go s.work(ctx, dest, s.popLocked(q))
	}
}

func (s *scheduler) popLocked(q *destinationQueue) job {
	j := q.waiting[0]
	q.waiting[0] = job{}
	q.waiting = q.waiting[1:]
	s.waitingTotal--
	return j
}

// tryGlobal takes a global slot if one is free.
func (s *scheduler) tryGlobal() bool {
	select {
	case s.global <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *scheduler) finish(dest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked(dest, s.destinations[dest])
}

func (s *scheduler) finishLocked(dest string, q *destinationQueue) {
	q.active--
	if q.active == 0 && len(q.waiting) == 0 {
		delete(s.destinations, dest)
	}
}

// returnForCapacity hands j back to JetStream for later. The delay is
// jittered so returned messages do not all come back at once.
func (s *scheduler) returnForCapacity(j job) {
	half := s.capacityDelay / 2
	delay := half + time.Duration(rand.Int64N(int64(half)+1))
	if err := j.msg.NakWithDelay(delay); err != nil {
		s.log.Warn("return message for capacity failed",
			"destination", j.task.GetApiDestination(), "error", err)
	}
}

// keepAlive sends InProgress for every waiting message each interval,
// until ctx ends.
func (s *scheduler) keepAlive(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, j := range s.waitingJobs() {
			if err := j.msg.InProgress(); err != nil {
				s.log.Debug("extend ack deadline failed", "error", err)
			}
		}
	}
}

func (s *scheduler) waitingJobs() []job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []job
	for _, q := range s.destinations {
		out = append(out, q.waiting...)
	}
	return out
}

// stop makes workers take no more waiting jobs and returns every
// waiting message to JetStream for immediate redelivery.
func (s *scheduler) stop() {
	s.mu.Lock()
	s.stopping = true
	var waiting []job
	for _, q := range s.destinations {
		waiting = append(waiting, q.waiting...)
		q.waiting = nil
	}
	s.waitingTotal = 0
	s.mu.Unlock()

	for _, j := range waiting {
		nak(s.log, j)
	}
}

// wait waits for the running workers, at most timeout. It reports
// whether they all finished.
func (s *scheduler) wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// nak returns a message for immediate redelivery, without an attempt.
func nak(log *slog.Logger, j job) {
	if err := j.msg.Nak(); err != nil {
		log.Warn("return message failed", "destination", j.task.GetApiDestination(), "error", err)
	}
}
