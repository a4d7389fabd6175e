package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// deadTask returns a task of the kind delivery dead-letters, with a
// rendered request that holds both credential and ordinary headers.
func deadTask(bus, rule, eventID string) *internalv1.DeliveryTask {
	return &internalv1.DeliveryTask{
		Bus:            bus,
		EventId:        eventID,
		EventSource:    "ci",
		Rule:           rule,
		TargetId:       "t1",
		ApiDestination: "dest",
		Request: &internalv1.RenderedRequest{
			PathValues: []string{"deploy"},
			Headers: []*internalv1.Header{
				{Name: "authorization", Value: "Bearer leaked"},
				{Name: "Proxy-Authorization", Value: "Basic leaked"},
				{Name: "X-Api-Key", Value: "leaked-key"},
				{Name: "X-Team", Value: "ops"},
				{Name: "X-Team", Value: "dev"},
			},
			Query: []*internalv1.QueryParameter{
				{Name: "token", Value: "leaked-query"},
				{Name: "delay", Value: "0sec"},
			},
			// A body is bytes, and this one is not valid UTF-8.
			Body:        []byte("{\"job\":\"deploy\"}\xff"),
			ContentType: "application/json",
		},
		DeadLetter: true,
		Event:      []byte(`{"specversion":"1.0","id":"` + eventID + `","source":"ci","type":"t"}`),
		MatchTime:  timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
}

func deadLetterOf(task *internalv1.DeliveryTask) *internalv1.DeadLetter {
	first := time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)
	return &internalv1.DeadLetter{
		Task:             task,
		ErrorCode:        "HTTP_4XX",
		ErrorMessage:     "404 Not Found",
		LastStatusCode:   404,
		ResponseExcerpt:  "no such job",
		Attempts:         1,
		FirstAttemptTime: timestamppb.New(first),
		LastAttemptTime:  timestamppb.New(first),
	}
}

// js returns a JetStream context on the harness's connection.
func (h *harness) js(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// putDeadLetter stores a dead letter as delivery does and returns its
// id.
func (h *harness) putDeadLetter(t *testing.T, dl *internalv1.DeadLetter) string {
	t.Helper()
	data, err := proto.Marshal(dl)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(h.topology.DeadLetterSubject(dl.GetTask().GetBus()))
	msg.Data = data
	msg.Header.Set(streams.HeaderMsgID, "dl-"+dl.GetTask().GetEventId())
	ack, err := h.js(t).PublishMsg(testContext(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(ack.Sequence, 10)
}

// queuedTask is a message read back from deliveries.<destination>.
type queuedTask struct {
	msgID string
	task  *internalv1.DeliveryTask
}

// queuedTasks reads every message on deliveries.<destination> with a
// consumer of its own, acking each.
func (h *harness) queuedTasks(t *testing.T, destination string) []queuedTask {
	t.Helper()
	ctx := testContext(t)
	stream, err := h.js(t).Stream(ctx, h.topology.Stream(streams.Deliveries))
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: h.topology.DeliveriesSubject(destination),
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.DeleteConsumer(ctx, cons.CachedInfo().Name)

	pending := int(cons.CachedInfo().NumPending)
	if pending == 0 {
		return nil
	}
	batch, err := cons.Fetch(pending, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []queuedTask
	for msg := range batch.Messages() {
		task := &internalv1.DeliveryTask{}
		if err := proto.Unmarshal(msg.Data(), task); err != nil {
			t.Fatal(err)
		}
		out = append(out, queuedTask{msgID: msg.Headers().Get(streams.HeaderMsgID), task: task})
		if err := msg.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != pending {
		t.Fatalf("read %d tasks, want the %d pending", len(out), pending)
	}
	return out
}

func (h *harness) listIDs(t *testing.T, req *v1.ListDeadLettersRequest) []string {
	t.Helper()
	resp, err := h.api.ListDeadLetters(testContext(t), req)
	mustOK(t, err)
	return idsOf(resp.GetDeadLetters())
}

func idsOf(list []*v1.DeadLetter) []string {
	ids := []string{}
	for _, d := range list {
		ids = append(ids, d.GetId())
	}
	return ids
}

func TestListDeadLettersFilters(t *testing.T) {
	h := startService(t)
	ids := []string{
		h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1"))),
		h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e2"))),
		h.putDeadLetter(t, deadLetterOf(deadTask("default", "notify", "e3"))),
		h.putDeadLetter(t, deadLetterOf(deadTask("orders", "build", "e4"))),
	}
	got, err := h.api.GetDeadLetter(testContext(t), &v1.GetDeadLetterRequest{Id: ids[2]})
	mustOK(t, err)
	since := got.GetDeadLetterTime()

	tests := []struct {
		name string
		req  *v1.ListDeadLettersRequest
		want []string
	}{
		{"all", &v1.ListDeadLettersRequest{}, ids},
		{"bus", &v1.ListDeadLettersRequest{Bus: "default"}, ids[:3]},
		{"rule on every bus", &v1.ListDeadLettersRequest{Rule: "build"},
			[]string{ids[0], ids[1], ids[3]}},
		{"rule on one bus", &v1.ListDeadLettersRequest{Bus: "orders", Rule: "build"}, ids[3:]},
		{"since", &v1.ListDeadLettersRequest{Since: since}, ids[2:]},
		{"bus without dead letters", &v1.ListDeadLettersRequest{Bus: "quiet"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.listIDs(t, tt.req); !slices.Equal(got, tt.want) {
				t.Errorf("ListDeadLetters ids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListDeadLettersPages(t *testing.T) {
	h := startService(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, h.putDeadLetter(t, deadLetterOf(deadTask("default", "build",
			fmt.Sprintf("e%d", i)))))
	}
	// A dead letter of another rule sits between the ones listed.
	h.putDeadLetter(t, deadLetterOf(deadTask("default", "notify", "other")))

	var got []string
	token := ""
	pages := 0
	for {
		resp, err := h.api.ListDeadLetters(testContext(t), &v1.ListDeadLettersRequest{
			Rule: "build", PageSize: 2, PageToken: token,
		})
		mustOK(t, err)
		if n := len(resp.GetDeadLetters()); n > 2 {
			t.Fatalf("page of %d dead letters, want at most 2", n)
		}
		got = append(got, idsOf(resp.GetDeadLetters())...)
		pages++
		token = resp.GetNextPageToken()
		if token == "" || pages > 5 {
			break
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("ids over all pages = %v, want %v", got, ids)
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
}

func TestListDeadLettersPassesOverUndecodable(t *testing.T) {
	h := startService(t)
	before := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1")))
	// Wire type 7 does not exist, so this never decodes.
	_, err := h.js(t).Publish(testContext(t), h.topology.DeadLetterSubject("default"),
		[]byte{0xff, 0xff})
	mustOK(t, err)
	after := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e2")))

	want := []string{before, after}
	if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); !slices.Equal(got, want) {
		t.Errorf("ListDeadLetters ids = %v, want %v", got, want)
	}
	if !strings.Contains(h.logs.String(), "dead letter passed over") {
		t.Errorf("logs = %q, want a warning about the undecodable message", h.logs.String())
	}
}

func TestListDeadLettersInvalid(t *testing.T) {
	h := startService(t)
	tests := []struct {
		name string
		req  *v1.ListDeadLettersRequest
		want string
	}{
		{"page size too large", &v1.ListDeadLettersRequest{PageSize: 501}, "page_size"},
		{"negative page size", &v1.ListDeadLettersRequest{PageSize: -1}, "page_size"},
		{"bad token", &v1.ListDeadLettersRequest{PageToken: "x"}, "page_token"},
		{"wildcard bus", &v1.ListDeadLettersRequest{Bus: "*"}, "bus"},
		{"wildcard rule", &v1.ListDeadLettersRequest{Rule: ">"}, "rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.api.ListDeadLetters(testContext(t), tt.req)
			wantCode(t, err, codes.InvalidArgument, tt.want)
		})
	}
}

func TestGetDeadLetterView(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	conn := &v1.Connection{
		Name: "conn",
		Authorization: &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{
			HeaderName: "x-api-key", Value: "key-value",
		}},
		InvocationParameters: []*v1.Parameter{{
			Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY,
			Key:      "token", Value: "query-secret", Secret: true,
		}},
	}
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: conn})
	mustOK(t, err)
	_, err = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination("dest", "conn", "https://jenkins.example/job/*/build"),
	})
	mustOK(t, err)

	task := deadTask("default", "build", "e1")
	task.RedriveCount = 2
	id := h.putDeadLetter(t, deadLetterOf(task))
	got, err := h.api.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: id})
	mustOK(t, err)

	first := timestamppb.New(time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC))
	want := &v1.DeadLetter{
		Id: id, Bus: "default", Rule: "build", TargetId: "t1", ApiDestination: "dest",
		EventId: "e1", EventSource: "ci",
		ErrorCode: "HTTP_4XX", ErrorMessage: "404 Not Found", LastStatusCode: 404,
		ResponseExcerpt: "no such job", Attempts: 1,
		FirstAttemptTime: first, LastAttemptTime: first,
		DeadLetterTime: got.GetDeadLetterTime(),
		Event:          string(task.GetEvent()),
		RedriveCount:   2,
		Request: &v1.DeadLetterRequest{
			PathValues:  []string{"deploy"},
			Headers:     map[string]string{"X-Team": "ops, dev"},
			Query:       map[string]string{"delay": "0sec"},
			Body:        "{\"job\":\"deploy\"}\uFFFD",
			ContentType: "application/json",
		},
	}
	if !proto.Equal(got, want) {
		t.Errorf("GetDeadLetter =\n%v\nwant\n%v", got, want)
	}
	if age := time.Since(got.GetDeadLetterTime().AsTime()); age < 0 || age > time.Minute {
		t.Errorf("dead_letter_time is %s ago, want just now", age)
	}
}

func TestGetDeadLetterErrors(t *testing.T) {
	h := startService(t)
	h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1")))
	ctx := testContext(t)

	_, err := h.api.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: "99"})
	wantCode(t, err, codes.NotFound, "dead letter 99 not found")
	for _, id := range []string{"", "0", "-1", "abc"} {
		_, err := h.api.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: id})
		wantCode(t, err, codes.InvalidArgument, "id")
	}
}

// seedRecord stores the delivery record of a dead-lettered task.
func (h *harness) seedRecord(t *testing.T, task *internalv1.DeliveryTask) *records.Store {
	t.Helper()
	store, err := records.Open(testContext(t), h.js(t), h.topology)
	if err != nil {
		t.Fatal(err)
	}
	err = store.Create(testContext(t), &v1.Delivery{
		EventId: task.GetEventId(), EventSource: task.GetEventSource(), Bus: task.GetBus(),
		Rule: task.GetRule(), TargetId: task.GetTargetId(), ApiDestination: task.GetApiDestination(),
		State:     v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED,
		ErrorCode: "HTTP_4XX",
	})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func TestRedriveRepublishesTask(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	task := deadTask("default", "build", "e1")
	task.RedriveCount = 1
	store := h.seedRecord(t, task)
	id := h.putDeadLetter(t, deadLetterOf(task))
	other := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e2")))

	resp, err := h.api.RedriveDeadLetters(ctx, &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Ids: []string{id, id}},
	})
	mustOK(t, err)
	if resp.GetRedriven() != 1 || resp.GetSkipped() != 0 {
		t.Errorf("redriven, skipped = %d, %d; want 1, 0", resp.GetRedriven(), resp.GetSkipped())
	}

	queued := h.queuedTasks(t, "dest")
	if len(queued) != 1 {
		t.Fatalf("%d tasks on deliveries.dest, want 1", len(queued))
	}
	want := proto.Clone(task).(*internalv1.DeliveryTask)
	want.Redriven = true
	want.RedriveCount = 2
	if !proto.Equal(queued[0].task, want) {
		t.Errorf("republished task =\n%v\nwant\n%v", queued[0].task, want)
	}
	if got, wantID := queued[0].msgID, "redrive-"+id+"-2"; got != wantID {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, wantID)
	}

	_, err = h.api.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: id})
	wantCode(t, err, codes.NotFound)
	if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); !slices.Equal(got, []string{other}) {
		t.Errorf("dead letters left = %v, want %v", got, []string{other})
	}

	list, err := store.List(ctx, "e1")
	mustOK(t, err)
	if len(list) != 1 {
		t.Fatalf("%d delivery records, want 1", len(list))
	}
	rec := list[0]
	if rec.GetRedriveCount() != 2 || rec.GetState() != v1.DeliveryState_DELIVERY_STATE_PENDING {
		t.Errorf("record redrive_count, state = %d, %s; want 2, PENDING",
			rec.GetRedriveCount(), rec.GetState())
	}
	if rec.GetErrorCode() != "" {
		t.Errorf("record error_code = %q, want it cleared", rec.GetErrorCode())
	}

	again, err := h.api.RedriveDeadLetters(ctx, &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Ids: []string{id}},
	})
	mustOK(t, err)
	if again.GetRedriven() != 0 || again.GetSkipped() != 1 {
		t.Errorf("repeat: redriven, skipped = %d, %d; want 0, 1",
			again.GetRedriven(), again.GetSkipped())
	}
}

func TestRedriveSelectors(t *testing.T) {
	tests := []struct {
		name string
		sel  func(ids []string) *v1.DeadLetterSelector
		want []int // indexes of the redriven dead letters
	}{
		{"rule", func([]string) *v1.DeadLetterSelector {
			return &v1.DeadLetterSelector{Rule: "build"}
		}, []int{0, 1, 3}},
		{"bus and rule", func([]string) *v1.DeadLetterSelector {
			return &v1.DeadLetterSelector{Bus: "default", Rule: "build"}
		}, []int{0, 1}},
		{"ids of another rule", func(ids []string) *v1.DeadLetterSelector {
			return &v1.DeadLetterSelector{Rule: "notify", Ids: ids[1:3]}
		}, []int{2}},
		{"all", func([]string) *v1.DeadLetterSelector {
			return &v1.DeadLetterSelector{All: true}
		}, []int{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startService(t)
			ids := []string{
				h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e0"))),
				h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1"))),
				h.putDeadLetter(t, deadLetterOf(deadTask("default", "notify", "e2"))),
				h.putDeadLetter(t, deadLetterOf(deadTask("orders", "build", "e3"))),
			}
			resp, err := h.api.RedriveDeadLetters(testContext(t),
				&v1.RedriveDeadLettersRequest{Selector: tt.sel(ids)})
			mustOK(t, err)
			if int(resp.GetRedriven()) != len(tt.want) {
				t.Errorf("redriven = %d, want %d", resp.GetRedriven(), len(tt.want))
			}

			var wantEvents []string
			for _, i := range tt.want {
				wantEvents = append(wantEvents, fmt.Sprintf("e%d", i))
			}
			var gotEvents []string
			for _, q := range h.queuedTasks(t, "dest") {
				gotEvents = append(gotEvents, q.task.GetEventId())
			}
			slices.Sort(gotEvents)
			if !slices.Equal(gotEvents, wantEvents) {
				t.Errorf("republished events = %v, want %v", gotEvents, wantEvents)
			}
		})
	}
}

func TestRedriveSince(t *testing.T) {
	h := startService(t)
	h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e0")))
	id := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1")))
	ctx := testContext(t)
	got, err := h.api.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: id})
	mustOK(t, err)

	resp, err := h.api.RedriveDeadLetters(ctx, &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Since: got.GetDeadLetterTime()},
	})
	mustOK(t, err)
	if resp.GetRedriven() != 1 {
		t.Errorf("redriven = %d, want 1", resp.GetRedriven())
	}
	queued := h.queuedTasks(t, "dest")
	if len(queued) != 1 || queued[0].task.GetEventId() != "e1" {
		t.Errorf("republished %d tasks, want only the task of e1", len(queued))
	}
}

func TestRedriveNeedsSelector(t *testing.T) {
	h := startService(t)
	h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e0")))
	ctx := testContext(t)

	_, err := h.api.RedriveDeadLetters(ctx, &v1.RedriveDeadLettersRequest{})
	wantCode(t, err, codes.InvalidArgument, "set all")
	_, err = h.api.PurgeDeadLetters(ctx, &v1.PurgeDeadLettersRequest{})
	wantCode(t, err, codes.InvalidArgument, "set all")
	_, err = h.api.RedriveDeadLetters(ctx, &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Ids: []string{"1", "x"}},
	})
	wantCode(t, err, codes.InvalidArgument, "ids[1]")

	if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); len(got) != 1 {
		t.Errorf("dead letters left = %v, want the one stored", got)
	}
}

// interruptedRedrive runs the first steps of a redrive of id, as a call
// that stopped part way would have. steps is how many ran: 1 created
// the marker, 2 also published the task and got the ack, 3 also marked
// the marker published.
func (h *harness) interruptedRedrive(t *testing.T, id string, steps int) {
	t.Helper()
	ctx := testContext(t)
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.svc.loadDeadLetter(ctx, seq)
	mustOK(t, err)
	r, reason, err := h.svc.beginRedrive(ctx, d)
	if err != nil || reason != "" {
		t.Fatalf("beginRedrive = %q, %v", reason, err)
	}
	if steps < 2 {
		return
	}
	mustOK(t, h.svc.publishTask(r))
	if steps < 3 {
		select {
		case <-r.future.Ok():
		case err := <-r.future.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		return
	}
	_, err = h.svc.awaitRepublished(ctx, r)
	mustOK(t, err)
}

func TestRedriveRepeatAfterInterruption(t *testing.T) {
	tests := []struct {
		name  string
		steps int
		// window is the duplicate window the repeat assumes.
		window       time.Duration
		wantRedriven int32
		wantQueued   int
		wantLeft     bool
	}{
		{"marked only", 1, 2 * time.Minute, 1, 1, false},
		{"published, not marked", 2, 2 * time.Minute, 0, 1, false},
		{"published and marked, not deleted", 3, 2 * time.Minute, 0, 1, false},
		{"marked only, window passed", 1, 0, 0, 0, true},
		{"published, window passed", 2, 0, 0, 1, true},
		{"published and marked, window passed", 3, 0, 0, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startService(t)
			id := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1")))
			h.interruptedRedrive(t, id, tt.steps)

			// The repeat runs in this goroutine, so setting the window
			// here does not race with the server.
			h.svc.dedupWindow = tt.window
			resp, err := h.svc.redriveDeadLetters(testContext(t),
				&v1.DeadLetterSelector{Ids: []string{id}})
			mustOK(t, err)
			if resp.GetRedriven() != tt.wantRedriven || resp.GetRedriven()+resp.GetSkipped() != 1 {
				t.Errorf("redriven, skipped = %d, %d; want %d redriven of 1",
					resp.GetRedriven(), resp.GetSkipped(), tt.wantRedriven)
			}
			for _, s := range resp.GetSkippedDeadLetters() {
				t.Logf("skipped %s: %s", s.GetId(), s.GetReason())
			}

			if got := len(h.queuedTasks(t, "dest")); got != tt.wantQueued {
				t.Errorf("%d tasks on deliveries.dest, want %d", got, tt.wantQueued)
			}
			left := h.listIDs(t, &v1.ListDeadLettersRequest{})
			if got := len(left) == 1; got != tt.wantLeft {
				t.Errorf("dead letters left = %v, want the dead letter kept: %t", left, tt.wantLeft)
			}
		})
	}
}

func TestRedriveConcurrentSameDeadLetter(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	id := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1")))
	seq, err := strconv.ParseUint(id, 10, 64)
	mustOK(t, err)
	d, err := h.svc.loadDeadLetter(ctx, seq)
	mustOK(t, err)

	// Two redrives pass the marker step before either confirms.
	first, reason, err := h.svc.beginRedrive(ctx, d)
	if err != nil || reason != "" {
		t.Fatalf("first beginRedrive = %q, %v", reason, err)
	}
	second, reason, err := h.svc.beginRedrive(ctx, d)
	if err != nil || reason != "" {
		t.Fatalf("second beginRedrive = %q, %v", reason, err)
	}
	mustOK(t, h.svc.publishTask(first))
	mustOK(t, h.svc.publishTask(second))

	result := &redriveResult{resp: &v1.RedriveDeadLettersResponse{}}
	mustOK(t, h.svc.confirmRedrive(ctx, first, result))
	mustOK(t, h.svc.confirmRedrive(ctx, second, result))
	if result.resp.GetRedriven() != 1 || result.resp.GetSkipped() != 1 {
		t.Errorf("redriven, skipped = %d, %d; want 1, 1",
			result.resp.GetRedriven(), result.resp.GetSkipped())
	}
	if got := len(h.queuedTasks(t, "dest")); got != 1 {
		t.Errorf("%d tasks on deliveries.dest, want 1", got)
	}
}

func TestRedriveReplacesMarkerOfEarlierStream(t *testing.T) {
	h := startService(t)
	id := h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e1")))

	// A published marker with the same id, from a dead letter stored
	// before the stream was recreated.
	stale := `{"msg_id":"redrive-1-1","dead_letter_time":"2020-01-01T00:00:00Z","published":true}`
	_, err := h.svc.redrives.Put(testContext(t), id, []byte(stale))
	mustOK(t, err)

	resp, err := h.api.RedriveDeadLetters(testContext(t), &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Ids: []string{id}},
	})
	mustOK(t, err)
	if resp.GetRedriven() != 1 {
		t.Errorf("redriven = %d, want 1: %v", resp.GetRedriven(), resp.GetSkippedDeadLetters())
	}
	if got := len(h.queuedTasks(t, "dest")); got != 1 {
		t.Errorf("%d tasks on deliveries.dest, want 1", got)
	}
}

func TestRedriveManyInBatches(t *testing.T) {
	h := startService(t)
	const n = redriveBatch + 10
	for i := range n {
		h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", fmt.Sprintf("e%d", i))))
	}
	resp, err := h.api.RedriveDeadLetters(testContext(t), &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Bus: "default"},
	})
	mustOK(t, err)
	if resp.GetRedriven() != n {
		t.Errorf("redriven = %d, want %d", resp.GetRedriven(), n)
	}
	if got := len(h.queuedTasks(t, "dest")); got != n {
		t.Errorf("%d tasks on deliveries.dest, want %d", got, n)
	}
	if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); len(got) != 0 {
		t.Errorf("dead letters left = %v, want none", got)
	}
}

func TestPurgeDeadLetters(t *testing.T) {
	h := startService(t)
	ids := []string{
		h.putDeadLetter(t, deadLetterOf(deadTask("default", "build", "e0"))),
		h.putDeadLetter(t, deadLetterOf(deadTask("default", "notify", "e1"))),
		h.putDeadLetter(t, deadLetterOf(deadTask("orders", "build", "e2"))),
		h.putDeadLetter(t, deadLetterOf(deadTask("orders", "build", "e3"))),
	}
	h.interruptedRedrive(t, ids[0], 1)

	steps := []struct {
		name string
		sel  *v1.DeadLetterSelector
		want int32
		left []string
	}{
		{"ids", &v1.DeadLetterSelector{Ids: []string{ids[0], "99"}}, 1, ids[1:]},
		{"bus", &v1.DeadLetterSelector{Bus: "orders"}, 2, ids[1:2]},
		{"nothing matches", &v1.DeadLetterSelector{Rule: "build"}, 0, ids[1:2]},
		{"all", &v1.DeadLetterSelector{All: true}, 1, []string{}},
	}
	for _, st := range steps {
		resp, err := h.api.PurgeDeadLetters(testContext(t),
			&v1.PurgeDeadLettersRequest{Selector: st.sel})
		mustOK(t, err)
		if resp.GetPurged() != st.want {
			t.Errorf("%s: purged = %d, want %d", st.name, resp.GetPurged(), st.want)
		}
		if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); !slices.Equal(got, st.left) {
			t.Errorf("%s: dead letters left = %v, want %v", st.name, got, st.left)
		}
	}

	_, err := h.svc.redrives.Get(testContext(t), ids[0])
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("redrive marker of a purged dead letter: Get error = %v, want not found", err)
	}
	if got := len(h.queuedTasks(t, "dest")); got != 0 {
		t.Errorf("%d tasks on deliveries.dest after purges, want 0", got)
	}
}
