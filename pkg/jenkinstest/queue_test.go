package jenkinstest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestQueueItemJSON(t *testing.T) {
	s, base := newFixture(t, Config{})
	wantStatus(t, send(t, base, post("/job/param/buildWithParameters?BRANCH=dev&EVENT_ID=e1")), http.StatusCreated)

	waiting := send(t, base, get("/queue/item/1/api/json"))
	wantStatus(t, waiting, http.StatusOK)
	if got := waiting.header.Get("X-Jenkins"); got != DefaultVersion {
		t.Errorf("X-Jenkins = %q, want %q", got, DefaultVersion)
	}
	fields := decodeJSON(t, waiting)
	if got := fields["id"]; got != float64(1) {
		t.Errorf("id = %v, want 1", got)
	}
	if got := fields["blocked"]; got != false {
		t.Errorf("blocked = %v, want false", got)
	}
	if got := fields["buildable"]; got != false {
		t.Errorf("buildable = %v, want false", got)
	}
	if got, _ := fields["why"].(string); !strings.HasPrefix(got, "In the quiet period.") {
		t.Errorf("why = %q, want the quiet period", got)
	}
	if got := fields["params"]; got != "\nBRANCH=dev\nEVENT_ID=e1" {
		t.Errorf("params = %q, want %q", got, "\nBRANCH=dev\nEVENT_ID=e1")
	}
	if _, ok := fields["actions"].([]any); !ok {
		t.Errorf("actions = %v, want a list", fields["actions"])
	}
	if _, ok := fields["executable"]; ok {
		t.Errorf("waiting item has executable, want the field absent")
	}
	if _, ok := fields["cancelled"]; ok {
		t.Errorf("waiting item has cancelled, want the field absent")
	}

	s.Advance(5 * time.Second)
	left := send(t, base, get("/queue/item/1/api/json"))
	wantStatus(t, left, http.StatusOK)
	fields = decodeJSON(t, left)
	if got := fields["cancelled"]; got != false {
		t.Errorf("cancelled = %v, want false", got)
	}
	if got := fields["why"]; got != nil {
		t.Errorf("why = %v, want null", got)
	}
	executable, ok := fields["executable"].(map[string]any)
	if !ok {
		t.Fatalf("executable = %v, want an object", fields["executable"])
	}
	if got := executable["number"]; got != float64(1) {
		t.Errorf("executable.number = %v, want 1", got)
	}
	if got, want := executable["url"], base+"/job/param/1/"; got != want {
		t.Errorf("executable.url = %v, want %s", got, want)
	}

	s.Advance(5*time.Minute - time.Second)
	wantStatus(t, send(t, base, get("/queue/item/1/api/json")), http.StatusOK)
	s.Advance(time.Second)
	wantStatus(t, send(t, base, get("/queue/item/1/api/json")), http.StatusNotFound)
}

func TestQueueItemNotFound(t *testing.T) {
	_, base := newFixture(t, Config{})
	for _, path := range []string{"/queue/item/1/api/json", "/queue/item/x/api/json", "/queue/item/1/other"} {
		got := send(t, base, get(path))
		if got.status != http.StatusNotFound {
			t.Errorf("GET %s status = %d, want 404", path, got.status)
		}
	}
}

func TestCancelledQueueItem(t *testing.T) {
	s, base := newFixture(t, Config{})
	wantStatus(t, send(t, base, post("/job/test/build")), http.StatusCreated)
	if err := s.CancelQueueItem(1); err != nil {
		t.Fatalf("CancelQueueItem(1) = %v, want nil", err)
	}
	if err := s.CancelQueueItem(1); err == nil {
		t.Errorf("second CancelQueueItem(1) = nil, want an error")
	}

	fields := decodeJSON(t, send(t, base, get("/queue/item/1/api/json")))
	if got := fields["cancelled"]; got != true {
		t.Errorf("cancelled = %v, want true", got)
	}
	if got, ok := fields["executable"]; !ok || got != nil {
		t.Errorf("executable = %v (present %t), want null", got, ok)
	}

	// A trigger after the cancel creates a new item.
	got := send(t, base, post("/job/test/build"))
	if location, want := got.header.Get("Location"), base+"/queue/item/2/"; location != want {
		t.Errorf("Location = %q, want %q", location, want)
	}
}

func TestBuildJSONAndConsole(t *testing.T) {
	s, base := newFixture(t, Config{})
	wantStatus(t, send(t, base, post("/job/team/job/test/build")), http.StatusCreated)
	wantStatus(t, send(t, base, get("/job/team/job/test/1/api/json")), http.StatusNotFound)
	s.Advance(5 * time.Second)

	running := decodeJSON(t, send(t, base, get("/job/team/job/test/1/api/json")))
	if got := running["number"]; got != float64(1) {
		t.Errorf("number = %v, want 1", got)
	}
	if got := running["building"]; got != true {
		t.Errorf("building = %v, want true", got)
	}
	if got, ok := running["result"]; !ok || got != nil {
		t.Errorf("result = %v (present %t), want null", got, ok)
	}
	if got := running["queueId"]; got != float64(1) {
		t.Errorf("queueId = %v, want 1", got)
	}
	if got, want := running["url"], base+"/job/team/job/test/1/"; got != want {
		t.Errorf("url = %v, want %s", got, want)
	}
	started := s.Now().UnixMilli()
	if got := running["timestamp"]; got != float64(started) {
		t.Errorf("timestamp = %v, want %d", got, started)
	}

	s.Advance(90 * time.Second)
	if err := s.FinishBuild("team/test", 1, ResultUnstable); err != nil {
		t.Fatalf("FinishBuild = %v, want nil", err)
	}
	finished := decodeJSON(t, send(t, base, get("/job/team/job/test/1/api/json")))
	if got := finished["building"]; got != false {
		t.Errorf("building = %v, want false", got)
	}
	if got := finished["result"]; got != ResultUnstable {
		t.Errorf("result = %v, want %s", got, ResultUnstable)
	}
	if got := finished["duration"]; got != float64(90000) {
		t.Errorf("duration = %v, want 90000", got)
	}

	console := send(t, base, get("/job/team/job/test/1/consoleText"))
	wantStatus(t, console, http.StatusOK)
	if got := console.header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", got)
	}
	for _, want := range []string{"Started by user admin", "Finished: UNSTABLE"} {
		if !strings.Contains(console.body, want) {
			t.Errorf("consoleText = %q, want it to contain %q", console.body, want)
		}
	}
	wantStatus(t, send(t, base, get("/job/team/job/test/2/consoleText")), http.StatusNotFound)
}

func TestFinishBuildErrors(t *testing.T) {
	s, base := newFixture(t, Config{QuietPeriod: NoQuietPeriod})
	wantStatus(t, send(t, base, post("/job/test/build")), http.StatusCreated)
	s.Advance(0)

	tests := []struct {
		name   string
		job    string
		number int
		result string
	}{
		{name: "unknown job", job: "missing", number: 1, result: ResultSuccess},
		{name: "unknown build", job: "test", number: 2, result: ResultSuccess},
		{name: "invalid result", job: "test", number: 1, result: "PASSED"},
	}
	for _, test := range tests {
		if err := s.FinishBuild(test.job, test.number, test.result); err == nil {
			t.Errorf("%s: FinishBuild(%q, %d, %q) = nil, want an error", test.name, test.job, test.number, test.result)
		}
	}

	if err := s.FinishBuild("test", 1, ResultFailure); err != nil {
		t.Fatalf("FinishBuild = %v, want nil", err)
	}
	if err := s.FinishBuild("test", 1, ResultSuccess); err == nil {
		t.Errorf("FinishBuild on a finished build = nil, want an error")
	}
}

func TestBuildDurationFinishesBuilds(t *testing.T) {
	s, base := newFixture(t, Config{BuildDuration: time.Minute})
	wantStatus(t, send(t, base, post("/job/test/build")), http.StatusCreated)
	s.Advance(5*time.Second + 59*time.Second)
	if builds := s.Builds("test"); len(builds) != 1 || !builds[0].Building {
		t.Fatalf("Builds = %+v, want one running build", builds)
	}

	s.Advance(time.Second)
	builds := s.Builds("test")
	if len(builds) != 1 {
		t.Fatalf("len(Builds) = %d, want 1", len(builds))
	}
	if builds[0].Result != ResultSuccess {
		t.Errorf("Result = %q, want %s", builds[0].Result, ResultSuccess)
	}
	if builds[0].Duration != time.Minute {
		t.Errorf("Duration = %v, want 1m0s", builds[0].Duration)
	}
}

func TestConfigNowWithOffset(t *testing.T) {
	base := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return base }})
	s.Advance(time.Hour)
	if got, want := s.Now(), base.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

func TestRequestsRecorded(t *testing.T) {
	s, base := newFixture(t, Config{})
	send(t, base, postForm("/job/param/buildWithParameters?BRANCH=dev", "EVENT_ID=e1"))
	send(t, base, call{path: "/job/test/api/json"})

	requests := s.Requests()
	if len(requests) != 2 {
		t.Fatalf("len(Requests) = %d, want 2", len(requests))
	}
	first := requests[0]
	if first.Method != http.MethodPost {
		t.Errorf("Method = %q, want POST", first.Method)
	}
	if first.Path != "/job/param/buildWithParameters" {
		t.Errorf("Path = %q, want /job/param/buildWithParameters", first.Path)
	}
	if got := first.Query.Get("BRANCH"); got != "dev" {
		t.Errorf("Query BRANCH = %q, want dev", got)
	}
	if got := string(first.Body); got != "EVENT_ID=e1" {
		t.Errorf("Body = %q, want EVENT_ID=e1", got)
	}
	if got := first.Header.Get("Authorization"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("Authorization = %q, want a Basic header", got)
	}
	if first.Status != http.StatusCreated {
		t.Errorf("Status = %d, want 201", first.Status)
	}
	if !first.Time.Equal(s.Now()) {
		t.Errorf("Time = %v, want %v", first.Time, s.Now())
	}
	if got := requests[1].Status; got != http.StatusForbidden {
		t.Errorf("second Status = %d, want 403", got)
	}

	// Changing a returned copy leaves the record alone.
	first.Header.Set("Authorization", "changed")
	first.Body[0] = 'X'
	again := s.Requests()[0]
	if got := again.Header.Get("Authorization"); got == "changed" {
		t.Errorf("Requests shares headers with its caller")
	}
	if got := string(again.Body); got != "EVENT_ID=e1" {
		t.Errorf("Body after change = %q, want EVENT_ID=e1", got)
	}
}

func TestConcurrentTriggersMerge(t *testing.T) {
	s, base := newFixture(t, Config{})
	const callers = 20

	var wg sync.WaitGroup
	locations := make([]string, callers)
	statuses := make([]int, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := send(t, base, post("/job/test/build"))
			statuses[i] = got.status
			locations[i] = got.header.Get("Location")
		}()
	}
	wg.Wait()

	for i := range callers {
		if statuses[i] != http.StatusCreated {
			t.Errorf("caller %d status = %d, want 201", i, statuses[i])
		}
		if want := base + "/queue/item/1/"; locations[i] != want {
			t.Errorf("caller %d Location = %q, want %q", i, locations[i], want)
		}
	}
	if got := len(s.Triggers("test")); got != callers {
		t.Errorf("len(Triggers) = %d, want %d", got, callers)
	}
}

func TestJobJSON(t *testing.T) {
	_, base := newFixture(t, Config{})
	got := send(t, base, get("/job/param/api/json"))
	wantStatus(t, got, http.StatusOK)
	fields := decodeJSON(t, got)
	if name := fields["fullName"]; name != "param" {
		t.Errorf("fullName = %v, want param", name)
	}
	if buildable := fields["buildable"]; buildable != true {
		t.Errorf("buildable = %v, want true", buildable)
	}

	disabled := decodeJSON(t, send(t, base, get("/job/disabled/api/json")))
	if color := disabled["color"]; color != "disabled" {
		t.Errorf("color of disabled job = %v, want disabled", color)
	}
}
