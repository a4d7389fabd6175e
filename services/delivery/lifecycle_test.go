package delivery

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard-dev/switchyard/pkg/jenkinstest"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestRestartDeliversEveryTask(t *testing.T) {
	const tasks = 20
	h := newHarness(t)
	var blocked atomic.Bool
	blocked.Store(true)
	var inFlight atomic.Int32
	var mu sync.Mutex
	seen := map[string]int{}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice a client that hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		if blocked.Load() {
			// Hold the call until the stopping service gives up on it.
			inFlight.Add(1)
			<-r.Context().Done()
			return
		}
		mu.Lock()
		seen[r.Header.Get("X-Event")]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))

	var all []*internalv1.DeliveryTask
	for i := range tasks {
		task := newTask("d", "ev-restart-"+string(rune('a'+i)))
		task.Request.Headers = []*internalv1.Header{{Name: "X-Event", Value: task.GetEventId()}}
		all = append(all, task)
		h.publish(task)
	}

	stop := h.start(h.config())
	if !poll(10*time.Second, func() bool { return inFlight.Load() > 0 }) {
		t.Fatal("no call reached the endpoint before the stop")
	}
	stop()
	t.Logf("stopped the first service with %d calls held", inFlight.Load())

	blocked.Store(false)
	h.start(h.config())
	for _, task := range all {
		rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
		if n := len(rec.GetAttempts()); n != 1 {
			t.Errorf("record of %s has %d attempts, want 1: cancelled calls do not count",
				task.GetEventId(), n)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	for _, task := range all {
		switch n := seen[task.GetEventId()]; {
		case n == 0:
			t.Errorf("endpoint never answered %s", task.GetEventId())
		case n > 1:
			t.Logf("endpoint answered %s %d times (at-least-once duplicate)", task.GetEventId(), n)
		}
	}
}

func TestSlowDestinationDoesNotBlockFast(t *testing.T) {
	const slowTasks, fastTasks = 10, 10
	h := newHarness(t)

	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseSlow := func() { releaseOnce.Do(func() { close(release) }) }
	var slowActive, slowMaxActive, slowDone, fastDone atomic.Int32
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := slowActive.Add(1)
		defer slowActive.Add(-1)
		for {
			max := slowMaxActive.Load()
			if n <= max || slowMaxActive.CompareAndSwap(max, n) {
				break
			}
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		slowDone.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	t.Cleanup(releaseSlow)
	fast := serve(t, func(w http.ResponseWriter, r *http.Request) {
		fastDone.Add(1)
		w.WriteHeader(http.StatusOK)
	})

	slowDest := destination("slow", slow.URL)
	slowDest.MaxConcurrency = 2
	slowDest.Timeout = durationpb.New(30 * time.Second)
	h.resolver.set(slowDest, basicConnection(v1.Network_NETWORK_PRIVATE))
	h.resolver.set(destination("fast", fast.URL), basicConnection(v1.Network_NETWORK_PRIVATE))

	cfg := h.config()
	cfg.Concurrency = 8
	cfg.MaxWaitingPerDestination = 2
	cfg.MaxWaiting = 2
	cfg.CapacityDelay = 50 * time.Millisecond
	h.start(cfg)

	var slowAll []*internalv1.DeliveryTask
	for i := range slowTasks {
		task := newTask("slow", "ev-slow-"+string(rune('a'+i)))
		slowAll = append(slowAll, task)
		h.publish(task)
	}
	// Let the slow destination fill its slots before the fast tasks come.
	if !poll(10*time.Second, func() bool { return slowActive.Load() == 2 }) {
		t.Fatalf("slow calls in flight = %d, want 2", slowActive.Load())
	}
	for i := range fastTasks {
		h.publish(newTask("fast", "ev-fast-"+string(rune('a'+i))))
	}

	if !poll(10*time.Second, func() bool { return fastDone.Load() == fastTasks }) {
		t.Fatalf("fast destination answered %d of %d tasks while the slow one was held",
			fastDone.Load(), fastTasks)
	}
	if got := slowDone.Load(); got != 0 {
		t.Errorf("slow destination answered %d tasks before release, want 0", got)
	}

	releaseSlow()
	for _, task := range slowAll {
		rec := h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
		if n := len(rec.GetAttempts()); n != 1 {
			t.Errorf("record of %s has %d attempts, want 1: waiting for capacity is no attempt",
				task.GetEventId(), n)
		}
	}
	if got := slowMaxActive.Load(); got > 2 {
		t.Errorf("slow destination had %d calls in flight, want at most its max_concurrency 2", got)
	}
}

func TestChangeNoticeDropsCache(t *testing.T) {
	h := newHarness(t)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h.resolver.set(destination("d", srv.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	svc, _ := h.startService(h.config())

	task := newTask("d", "ev-notice")
	h.publish(task)
	h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if svc.cache.peek("d") == nil {
		t.Fatal("destination d not cached after a delivery")
	}

	notice := func(kind internalv1.ChangeKind, name string) {
		data, err := proto.Marshal(&internalv1.ConfigChange{Kind: kind, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.nc.Publish(h.nats.Topology.ChangesSubject(), data); err != nil {
			t.Fatal(err)
		}
		if err := h.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	notice(internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "other")
	notice(internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "conn1")
	if !poll(5*time.Second, func() bool { return svc.cache.peek("d") == nil }) {
		t.Fatal("destination d still cached after its connection changed")
	}

	next := newTask("d", "ev-notice-2")
	h.publish(next)
	h.waitState(next, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	if got := h.resolver.callCount("d"); got != 2 {
		t.Errorf("resolver calls = %d, want 2", got)
	}
}

func TestJenkinsBuildTrigger(t *testing.T) {
	h := newHarness(t)
	jenkins := jenkinstest.New(jenkinstest.Config{})
	jenkins.AddUser("ci", jenkinstest.User{APITokens: []string{"11aa22bb"}})
	jenkins.AddJob("team/app", jenkinstest.Job{Params: []jenkinstest.Param{{Name: "BRANCH"}}})
	base := jenkins.Start(t)

	conn := &v1.Connection{
		Name:    "jenkins",
		Network: v1.Network_NETWORK_PRIVATE,
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{
			Username: "ci", Password: "11aa22bb",
		}},
	}
	h.resolver.set(destination("jenkins", base+"/job/*/job/*/buildWithParameters"), conn)
	h.start(h.config())

	// The second trigger has the same parameters while the first is
	// still queued, so Jenkins merges it and responds with 303.
	var tasks []*internalv1.DeliveryTask
	for _, id := range []string{"ev-jenkins-1", "ev-jenkins-2"} {
		task := newTask("jenkins", id)
		task.Request.PathValues = []string{"team", "app"}
		task.Request.Body = []byte("BRANCH=main")
		task.Request.ContentType = "application/x-www-form-urlencoded"
		tasks = append(tasks, task)
		h.publish(task)
		h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	}

	first, second := h.record(tasks[0]), h.record(tasks[1])
	statuses := []int32{
		first.GetAttempts()[0].GetStatusCode(), second.GetAttempts()[0].GetStatusCode(),
	}
	if statuses[0] != 201 || statuses[1] != 303 {
		t.Errorf("Jenkins answered %v, want [201 303]", statuses)
	}
	if first.GetLocation() == "" || first.GetLocation() != second.GetLocation() {
		t.Errorf("locations = %q, %q, want the same queue item",
			first.GetLocation(), second.GetLocation())
	}
	triggers := jenkins.Triggers("team/app")
	if len(triggers) != 2 {
		t.Fatalf("Jenkins saw %d triggers, want 2", len(triggers))
	}
	if got := triggers[0].Params["BRANCH"]; got != "main" {
		t.Errorf("BRANCH = %q, want main", got)
	}
	if triggers[0].User != "ci" {
		t.Errorf("trigger user = %q, want ci", triggers[0].User)
	}
}

func TestRunStoppedDuringStartup(t *testing.T) {
	h := newHarness(t)
	svc, err := New(context.Background(), h.config())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

	// A stop signal that arrives as Run starts ends its context before
	// Run reads the CHANGES stream.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() with a cancelled context = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run() with a cancelled context did not return")
	}
}
