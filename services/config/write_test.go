package config

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestStaleRevision(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	first, err := h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "orders"}})
	mustOK(t, err)
	second, err := h.api.UpdateBus(ctx, &v1.UpdateBusRequest{
		Bus: &v1.Bus{Name: "orders", Description: "a", Revision: first.GetRevision()},
	})
	mustOK(t, err)

	_, err = h.api.UpdateBus(ctx, &v1.UpdateBusRequest{
		Bus: &v1.Bus{Name: "orders", Description: "b", Revision: first.GetRevision()},
	})
	wantCode(t, err, codes.Aborted, "stale revision",
		itoa(first.GetRevision()), itoa(second.GetRevision()), "get the object again and retry")

	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "orders", Revision: first.GetRevision()})
	wantCode(t, err, codes.Aborted, "stale revision")

	// The stale writes changed nothing.
	got, err := h.api.GetBus(ctx, &v1.GetBusRequest{Name: "orders"})
	mustOK(t, err)
	if got.GetDescription() != "a" || got.GetRevision() != second.GetRevision() {
		t.Errorf("bus after stale writes = %v, want description a at revision %d",
			got, second.GetRevision())
	}

	// Revision zero writes unconditionally.
	_, err = h.api.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: &v1.Bus{Name: "orders", Description: "c"}})
	mustOK(t, err)
	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "orders"})
	mustOK(t, err)
}

func TestStaleRevisionEveryKind(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)

	c := basicConnection("conn", "")
	c.Revision = 999
	_, err := h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: c})
	wantCode(t, err, codes.Aborted, "stale revision: have 999, stored")
	_, err = h.api.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: "conn", Revision: 999})
	wantCode(t, err, codes.Aborted, "stale revision: have 999, stored")

	d := destination("dest", "conn", "https://jenkins.example/job/*/build")
	d.Revision = 999
	_, err = h.api.UpdateApiDestination(ctx, &v1.UpdateApiDestinationRequest{ApiDestination: d})
	wantCode(t, err, codes.Aborted, "stale revision: have 999, stored")
	_, err = h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: "dest", Revision: 999})
	wantCode(t, err, codes.Aborted, "stale revision: have 999, stored")

	r := rule("default", "build", &v1.Target{ApiDestination: "dest", PathValues: []string{"x"}})
	r.Revision = 999
	_, err = h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: r})
	wantCode(t, err, codes.Aborted, "stale revision: have 999, stored")
	_, err = h.api.DeleteRule(ctx, &v1.DeleteRuleRequest{Bus: "default", Name: "build", Revision: 999})
	wantCode(t, err, codes.Aborted, "stale revision: have 999, stored")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDeleteReferenced(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)

	_, err := h.api.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: "conn"})
	wantCode(t, err, codes.FailedPrecondition, `connection "conn"`, `API destinations "dest"`)

	_, err = h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: "dest"})
	wantCode(t, err, codes.FailedPrecondition, `API destination "dest"`, `rules "default/build"`)

	_, err = h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "other"}})
	mustOK(t, err)
	_, err = h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: rule("other", "r1",
		&v1.Target{ApiDestination: "dest", PathValues: []string{"x"}})})
	mustOK(t, err)
	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "other"})
	wantCode(t, err, codes.FailedPrecondition, `bus "other" has rules "r1"`)

	// Deleting from the top down works.
	for _, del := range []func() error{
		func() error {
			_, err := h.api.DeleteRule(ctx, &v1.DeleteRuleRequest{Bus: "other", Name: "r1"})
			return err
		},
		func() error {
			_, err := h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "other"})
			return err
		},
		func() error {
			_, err := h.api.DeleteRule(ctx, &v1.DeleteRuleRequest{Name: "build"})
			return err
		},
		func() error {
			_, err := h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: "dest"})
			return err
		},
		func() error {
			_, err := h.api.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: "conn"})
			return err
		},
	} {
		mustOK(t, del())
	}
}

func TestQuoteListBounded(t *testing.T) {
	names := make([]string, 12)
	for i := range names {
		names[i] = "r" + strconv.Itoa(i)
	}
	got := quoteList(names)
	want := `"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9" and 2 more`
	if got != want {
		t.Errorf("quoteList = %s, want %s", got, want)
	}
}

func TestChangeNotices(t *testing.T) {
	h := startService(t)
	sub, err := h.nc.SubscribeSync(h.topology.ChangesSubject())
	mustOK(t, err)
	mustOK(t, h.nc.Flush())
	ctx := testContext(t)

	next := func() *internalv1.ConfigChange {
		t.Helper()
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("no change notice: %v", err)
		}
		change := &internalv1.ConfigChange{}
		mustOK(t, proto.Unmarshal(msg.Data, change))
		return change
	}
	want := func(got *internalv1.ConfigChange, kind internalv1.ChangeKind, bus, name string,
		rev int64, deleted bool,
	) {
		t.Helper()
		w := &internalv1.ConfigChange{Kind: kind, Bus: bus, Name: name, Revision: rev, Deleted: deleted}
		if !proto.Equal(got, w) {
			t.Errorf("change = %v, want %v", got, w)
		}
	}

	b, err := h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "orders"}})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_BUS, "", "orders", b.GetRevision(), false)
	b, err = h.api.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: &v1.Bus{Name: "orders", Description: "x"}})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_BUS, "", "orders", b.GetRevision(), false)

	c, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: basicConnection("c", "p")})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "", "c", c.GetRevision(), false)
	c, err = h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: basicConnection("c", "")})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "", "c", c.GetRevision(), false)

	d, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination("d", "c", "https://example.com/"),
	})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, "", "d", d.GetRevision(), false)
	d, err = h.api.UpdateApiDestination(ctx, &v1.UpdateApiDestinationRequest{
		ApiDestination: destination("d", "c", "https://example.com/v2"),
	})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, "", "d", d.GetRevision(), false)

	r, err := h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: rule("orders", "r", &v1.Target{ApiDestination: "d"})})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_RULE, "orders", "r", r.GetRevision(), false)
	r, err = h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: rule("orders", "r", &v1.Target{ApiDestination: "d"})})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_RULE, "orders", "r", r.GetRevision(), false)

	_, err = h.api.DeleteRule(ctx, &v1.DeleteRuleRequest{Bus: "orders", Name: "r"})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_RULE, "orders", "r", r.GetRevision(), true)
	_, err = h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: "d"})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, "", "d", d.GetRevision(), true)
	_, err = h.api.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: "c"})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "", "c", c.GetRevision(), true)
	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "orders"})
	mustOK(t, err)
	want(next(), internalv1.ChangeKind_CHANGE_KIND_BUS, "", "orders", b.GetRevision(), true)

	// A rejected write announces nothing.
	_, err = h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "a.b"}})
	wantCode(t, err, codes.InvalidArgument)
	if msg, err := sub.NextMsg(200 * time.Millisecond); err != nats.ErrTimeout {
		t.Errorf("after a rejected write got notice %v, %v; want none", msg, err)
	}
}

func TestWritesLoggedWithoutSecrets(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("c", "log-canary-secret"),
	})
	mustOK(t, err)

	logs := h.logs.String()
	if !containsAll(logs, "config object written", "kind=CHANGE_KIND_CONNECTION", "name=c", "revision=") {
		t.Errorf("logs = %q, want a debug line with kind, name and revision", logs)
	}
	if containsAll(logs, "log-canary-secret") {
		t.Errorf("logs contain the password")
	}
}

func TestTestEventPattern(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	tests := []struct {
		pattern, event string
		want           bool
	}{
		{`{"source": ["ci"]}`, `{"source": "ci"}`, true},
		{`{"source": ["ci"]}`, `{"source": "cd"}`, false},
		{`{"data": {"ref": [{"prefix": "refs/heads/"}]}}`, `{"data": {"ref": "refs/heads/main"}}`, true},
	}
	for _, tt := range tests {
		resp, err := h.api.TestEventPattern(ctx, &v1.TestEventPatternRequest{
			EventPattern: tt.pattern, Event: tt.event,
		})
		mustOK(t, err)
		if resp.GetMatch() != tt.want {
			t.Errorf("TestEventPattern(%s, %s) = %v, want %v", tt.pattern, tt.event, resp.GetMatch(), tt.want)
		}
	}
}

func TestGetDeliveries(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)

	resp, err := h.api.GetDeliveries(ctx, &v1.GetDeliveriesRequest{EventId: "no-such-event"})
	mustOK(t, err)
	if n := len(resp.GetDeliveries()); n != 0 {
		t.Errorf("deliveries of an unknown event = %d, want 0", n)
	}

	store, err := records.Open(ctx, mustJetStream(t, h.nc), h.topology)
	mustOK(t, err)
	for _, target := range []string{"t1", "t2"} {
		mustOK(t, store.Create(ctx, &v1.Delivery{
			EventId: "ev-1", Bus: "default", Rule: "build", TargetId: target,
			State: v1.DeliveryState_DELIVERY_STATE_PENDING,
		}))
	}
	resp, err = h.api.GetDeliveries(ctx, &v1.GetDeliveriesRequest{EventId: "ev-1"})
	mustOK(t, err)
	if n := len(resp.GetDeliveries()); n != 2 {
		t.Fatalf("deliveries of ev-1 = %d, want 2", n)
	}
	if got := resp.GetDeliveries()[1].GetTargetId(); got != "t2" {
		t.Errorf("second delivery target = %q, want t2", got)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	b, err := h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "busy"}})
	mustOK(t, err)

	// Writers that all read revision b: exactly one wins.
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := h.api.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: &v1.Bus{
				Name: "busy", Description: strconv.Itoa(i), Revision: b.GetRevision(),
			}})
			errs <- err
		}()
	}
	won := 0
	for range writers {
		err := <-errs
		if err == nil {
			won++
			continue
		}
		wantCode(t, err, codes.Aborted, "stale revision")
	}
	if won != 1 {
		t.Errorf("conditional writers that won = %d, want 1", won)
	}

	// Unconditional writers all succeed, each on its own revision.
	for i := range writers {
		go func() {
			_, err := h.api.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: &v1.Bus{
				Name: "busy", Description: strconv.Itoa(i),
			}})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Errorf("unconditional update = %v, want nil", err)
		}
	}
}
