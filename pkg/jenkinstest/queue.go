package jenkinstest

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// Results that [Server.FinishBuild] accepts, as Jenkins names them.
const (
	ResultSuccess  = "SUCCESS"
	ResultUnstable = "UNSTABLE"
	ResultFailure  = "FAILURE"
	ResultNotBuilt = "NOT_BUILT"
	ResultAborted  = "ABORTED"
)

type jobState struct {
	name      string
	config    Job
	nextBuild int
	builds    map[int]*build
	triggers  []Trigger
}

// paramValue is one parameter value of a queue item or build, in the order
// the job declares its parameters.
type paramValue struct {
	name  string
	value string
}

type queueItem struct {
	id       int64
	job      *jobState
	params   []paramValue
	causes   []string
	enqueued time.Time
	due      time.Time

	left      bool
	leftAt    time.Time
	cancelled bool
	build     *build
}

type build struct {
	job      *jobState
	number   int
	queueID  int64
	params   []paramValue
	causes   []string
	started  time.Time
	finished bool
	result   string
	duration time.Duration
}

// QueueItem is a snapshot of a queue item.
type QueueItem struct {
	ID  int64
	Job string

	// Params are the item's parameter values. Nil for a job without
	// parameters.
	Params map[string]string

	InQueueSince time.Time

	// Due is when the quiet period ends and the item leaves the queue.
	Due time.Time

	// Left reports whether the item left the queue, by starting a build or
	// by being cancelled. LeftAt is when.
	Left      bool
	LeftAt    time.Time
	Cancelled bool

	// BuildNumber is the number of the build the item started, or 0.
	BuildNumber int
}

// Build is a snapshot of a build.
type Build struct {
	Job     string
	Number  int
	QueueID int64

	// Params are the build's parameter values. Nil for a job without
	// parameters.
	Params map[string]string

	Building bool

	// Result is "" while the build runs, then one of the Result constants.
	Result   string
	Started  time.Time
	Duration time.Duration
}

// now returns the server clock. The caller holds s.mu.
func (s *Server) now() time.Time {
	if s.config.Now != nil {
		return s.config.Now().Add(s.offset)
	}
	return s.manualStart.Add(s.offset)
}

// Now returns the server clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Advance moves the server clock forward by d. Then every queue item whose
// quiet period ended starts its build, builds that ran for
// [Config.BuildDuration] finish, and items that left the queue five or more
// minutes ago are deleted. A negative d panics, because the clock never goes
// back.
func (s *Server) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("jenkinstest: Advance(%v): negative duration", d))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
	s.advanceQueue()
}

// advanceQueue brings the queue and the builds up to the server clock. It
// assumes unlimited executors, so an item starts its build as soon as it is
// due. The caller holds s.mu.
func (s *Server) advanceQueue() {
	now := s.now()
	for _, item := range s.sortedQueue() {
		switch {
		case !item.left && !item.due.After(now):
			s.startBuild(item, item.due)
		case item.left && now.Sub(item.leftAt) >= leftItemLifetime:
			delete(s.queue, item.id)
		}
	}

	if s.config.BuildDuration <= 0 {
		return
	}
	for _, job := range s.jobs {
		for _, b := range job.builds {
			end := b.started.Add(s.config.BuildDuration)
			if !b.finished && !end.After(now) {
				b.finish(ResultSuccess, end)
			}
		}
	}
}

func (s *Server) sortedQueue() []*queueItem {
	items := slices.Collect(maps.Values(s.queue))
	sort.Slice(items, func(i, j int) bool { return items[i].id < items[j].id })
	return items
}

func (s *Server) startBuild(item *queueItem, at time.Time) {
	job := item.job
	b := &build{
		job:     job,
		number:  job.nextBuild,
		queueID: item.id,
		params:  item.params,
		causes:  item.causes,
		started: at,
	}
	job.nextBuild++
	job.builds[b.number] = b

	item.left = true
	item.leftAt = at
	item.build = b
}

func (b *build) finish(result string, at time.Time) {
	b.finished = true
	b.result = result
	b.duration = at.Sub(b.started)
}

// schedule adds an item for the job to the queue, or merges the trigger into
// an item of the job that is still waiting with the same parameter values.
// Like Jenkins, a merged item keeps the earlier of the two due times and
// collects the new cause. The caller holds s.mu.
func (s *Server) schedule(
	job *jobState, params []paramValue, quietPeriod time.Duration, cause string,
) (item *queueItem, merged bool) {
	now := s.now()
	due := now.Add(max(quietPeriod, 0))
	for _, existing := range s.sortedQueue() {
		if existing.left || existing.job != job || !slices.Equal(existing.params, params) {
			continue
		}
		if due.Before(existing.due) {
			existing.due = due
		}
		existing.causes = append(existing.causes, cause)
		return existing, true
	}

	item = &queueItem{
		id:       s.nextQueueID,
		job:      job,
		params:   params,
		causes:   []string{cause},
		enqueued: now,
		due:      due,
	}
	s.nextQueueID++
	s.queue[item.id] = item
	return item, false
}

// quietPeriod returns the quiet period of a job after the defaults apply.
func (s *Server) quietPeriod(job *jobState) time.Duration {
	switch {
	case job.config.QuietPeriod != 0:
		return max(job.config.QuietPeriod, 0)
	case s.config.QuietPeriod != 0:
		return max(s.config.QuietPeriod, 0)
	}
	return DefaultQuietPeriod
}

// Queue returns the items still waiting in the queue, by increasing id.
func (s *Server) Queue() []QueueItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceQueue()
	var items []QueueItem
	for _, item := range s.sortedQueue() {
		if !item.left {
			items = append(items, item.snapshot())
		}
	}
	return items
}

// QueueItem returns the queue item with the given id, also after it left the
// queue. It returns false once the server forgot the item, five minutes
// after it left, or for an id it never issued.
func (s *Server) QueueItem(id int64) (QueueItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceQueue()
	item, ok := s.queue[id]
	if !ok {
		return QueueItem{}, false
	}
	return item.snapshot(), true
}

// CancelQueueItem removes a waiting item from the queue, as the Cancel
// button of Jenkins does. It returns an error when the item is unknown or
// already left the queue.
func (s *Server) CancelQueueItem(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceQueue()
	item, ok := s.queue[id]
	if !ok {
		return fmt.Errorf("jenkinstest: queue item %d not found", id)
	}
	if item.left {
		return fmt.Errorf("jenkinstest: queue item %d already left the queue", id)
	}
	item.left = true
	item.leftAt = s.now()
	item.cancelled = true
	return nil
}

// Builds returns the builds of a job by increasing number. It returns nil
// for an unknown job.
func (s *Server) Builds(fullName string) []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceQueue()
	job, ok := s.jobs[fullName]
	if !ok {
		return nil
	}
	builds := make([]Build, 0, len(job.builds))
	for _, number := range slices.Sorted(maps.Keys(job.builds)) {
		builds = append(builds, job.builds[number].snapshot())
	}
	return builds
}

// FinishBuild ends a running build with a result: [ResultSuccess],
// [ResultUnstable], [ResultFailure], [ResultNotBuilt] or [ResultAborted].
// Its duration is the server clock minus its start. FinishBuild returns an
// error for an unknown job or build, an unknown result, or a build that
// already finished.
func (s *Server) FinishBuild(fullName string, number int, result string) error {
	switch result {
	case ResultSuccess, ResultUnstable, ResultFailure, ResultNotBuilt, ResultAborted:
	default:
		return fmt.Errorf("jenkinstest: invalid build result %q: "+
			"use SUCCESS, UNSTABLE, FAILURE, NOT_BUILT or ABORTED", result)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceQueue()
	job, ok := s.jobs[fullName]
	if !ok {
		return fmt.Errorf("jenkinstest: job %q not found", fullName)
	}
	b, ok := job.builds[number]
	if !ok {
		return fmt.Errorf("jenkinstest: build %s #%d not found", fullName, number)
	}
	if b.finished {
		return fmt.Errorf("jenkinstest: build %s #%d already finished with %s",
			fullName, number, b.result)
	}
	b.finish(result, s.now())
	return nil
}

func (item *queueItem) snapshot() QueueItem {
	snapshot := QueueItem{
		ID:           item.id,
		Job:          item.job.name,
		Params:       paramMap(item.job, item.params),
		InQueueSince: item.enqueued,
		Due:          item.due,
		Left:         item.left,
		LeftAt:       item.leftAt,
		Cancelled:    item.cancelled,
	}
	if item.build != nil {
		snapshot.BuildNumber = item.build.number
	}
	return snapshot
}

func (b *build) snapshot() Build {
	return Build{
		Job:      b.job.name,
		Number:   b.number,
		QueueID:  b.queueID,
		Params:   paramMap(b.job, b.params),
		Building: !b.finished,
		Result:   b.result,
		Started:  b.started,
		Duration: b.duration,
	}
}

// paramMap returns parameter values as a map, or nil for a job without
// parameters.
func paramMap(job *jobState, params []paramValue) map[string]string {
	if len(params) == 0 && len(job.config.Params) == 0 {
		return nil
	}
	values := make(map[string]string, len(params))
	for _, param := range params {
		values[param.name] = param.value
	}
	return values
}
