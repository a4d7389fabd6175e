package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// pollInterval is the pause between two reads of deliveries --wait.
const pollInterval = 250 * time.Millisecond

func newDeliveriesCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("deliveries", "Show what happened to an event's deliveries")
	cmd.AddCommand(newDeliveriesGetCommand(a))
	return cmd
}

func newDeliveriesGetCommand(a *app) *cobra.Command {
	var wait time.Duration
	var showBody bool
	var source string
	cmd := &cobra.Command{
		Use:   "get EVENT_ID [--source SOURCE] [--wait DURATION] [--body]",
		Short: "Show the deliveries of an event, with every attempt",
		Long: `Show one delivery per (rule, target) that the event matched, with its
state, the request its target rendered (path values, headers, query
string, content type and body size; the body itself with --body) and
every HTTP attempt. The connection's parameters and authorization are
added by delivery and never shown.

An event id is unique only together with the event's source; --source
shows only the deliveries of the event from that source.

With --wait, poll until every delivery is final (delivered, dead_lettered
or failed). The command then fails with exit status 1 when the time runs
out first, or when any delivery ended dead_lettered or failed, so a
script can wait for an event and check that it arrived.
With no deliveries recorded, the command fails with exit status 1 and
names the possible causes.`,
		Args: exactArgs("EVENT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if wait < 0 {
				return usagef("invalid --wait %s: want a positive duration", wait)
			}
			id := eventRef{id: args[0], source: source}
			resp, err := a.waitDeliveries(cmd, id, wait)
			if resp == nil {
				return err
			}
			circuits := a.overdueCircuits(cmd, resp.GetDeliveries())
			if perr := a.printDeliveries(resp, circuits, showBody); perr != nil {
				return perr
			}
			if len(resp.GetDeliveries()) == 0 && !errors.Is(err, context.Canceled) {
				return noDeliveriesError(id)
			}
			if err == nil && wait > 0 {
				return unsuccessfulError(id, resp.GetDeliveries())
			}
			return err
		},
	}
	cmd.Flags().StringVar(&source, "source", "",
		"only the deliveries of the event with this source attribute")
	cmd.Flags().DurationVar(&wait, "wait", 0,
		"poll until every delivery is final, for at most this long; exit status 1 "+
			"when any ends dead_lettered or failed")
	cmd.Flags().BoolVar(&showBody, "body", false, "also print each rendered request body")
	return cmd
}

// eventRef names an event by its id and, where known, its source.
type eventRef struct {
	id     string
	source string
}

func (e eventRef) String() string {
	if e.source == "" {
		return e.id
	}
	return e.id + " from source " + e.source
}

// noDeliveriesError lists every possible cause of an event without delivery
// records, since the records cannot tell the causes apart.
func noDeliveriesError(e eventRef) error {
	return fmt.Errorf("no deliveries recorded for event %s. One of these is the cause: "+
		"the event matched no enabled rule (`switchyard rule list` shows the rules), "+
		"it is still on its way (retry with --wait 30s), "+
		"it was rejected at ingest (an HTTP put returns the error, and over NATS it goes to rejected.BUS), "+
		"the event id or --source is wrong, "+
		"or its records expired (they are kept 7 days by default)", e)
}

// unsuccessfulError returns the error for final deliveries of which any
// ended dead_lettered or failed, and nil when all were delivered.
func unsuccessfulError(e eventRef, deliveries []*v1.Delivery) error {
	var states []string
	for _, d := range deliveries {
		if d.GetState() != v1.DeliveryState_DELIVERY_STATE_DELIVERED {
			states = append(states, enumText(d.GetState().String(), "DELIVERY_STATE_"))
		}
	}
	if len(states) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d deliveries of event %s did not succeed (%s)",
		len(states), len(deliveries), e, strings.Join(states, ", "))
}

// waitDeliveries reads the deliveries of an event until all are final or
// wait has passed. It returns the last response also when it fails because
// time ran out.
func (a *app) waitDeliveries(cmd *cobra.Command, event eventRef,
	wait time.Duration) (*v1.GetDeliveriesResponse, error) {
	client, err := a.configClient()
	if err != nil {
		return nil, err
	}

	deadline := time.Now().Add(wait)
	for {
		resp, err := a.getDeliveries(cmd, client, event)
		if err != nil || wait == 0 || allFinal(resp.GetDeliveries()) {
			return resp, err
		}
		if time.Now().After(deadline) {
			return resp, fmt.Errorf("deliveries of event %s not final after %s", event, wait)
		}

		select {
		case <-cmd.Context().Done():
			return resp, cmd.Context().Err()
		case <-time.After(pollInterval):
		}
	}
}

// getDeliveries reads the deliveries of an event, keeping only those of
// its source when event names one.
func (a *app) getDeliveries(cmd *cobra.Command, client v1.ConfigServiceClient,
	event eventRef) (*v1.GetDeliveriesResponse, error) {
	ctx, cancel := a.callContext(cmd)
	defer cancel()
	resp, err := client.GetDeliveries(ctx, &v1.GetDeliveriesRequest{EventId: event.id})
	if err != nil || event.source == "" {
		return resp, err
	}
	resp.Deliveries = slices.DeleteFunc(resp.Deliveries, func(d *v1.Delivery) bool {
		return d.GetEventSource() != event.source
	})
	return resp, nil
}

// allFinal reports whether there are deliveries and none will change.
func allFinal(deliveries []*v1.Delivery) bool {
	for _, d := range deliveries {
		switch d.GetState() {
		case v1.DeliveryState_DELIVERY_STATE_DELIVERED,
			v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED,
			v1.DeliveryState_DELIVERY_STATE_FAILED:
		default:
			return false
		}
	}
	return len(deliveries) > 0
}

// overdueCircuits looks up the destinations of the deliveries whose next
// attempt is past, and returns those whose circuit breaker is not
// closed: their tasks wait for it, which the record does not show. A
// destination that cannot be read is left out, since the deliveries are
// still worth printing.
func (a *app) overdueCircuits(cmd *cobra.Command, deliveries []*v1.Delivery) map[string]*v1.ApiDestination {
	if a.jsonOutput() {
		return nil
	}
	client, err := a.configClient()
	if err != nil {
		return nil
	}
	out := map[string]*v1.ApiDestination{}
	looked := map[string]bool{}
	for _, d := range deliveries {
		name := d.GetApiDestination()
		if looked[name] || !overdue(d) {
			continue
		}
		looked[name] = true

		ctx, cancel := a.callContext(cmd)
		dest, err := client.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: name})
		cancel()
		state := dest.GetCircuitState()
		if err == nil && state != v1.CircuitState_CIRCUIT_STATE_CLOSED &&
			state != v1.CircuitState_CIRCUIT_STATE_UNSPECIFIED {
			out[name] = dest
		}
	}
	return out
}

// overdue reports whether d waits for an attempt whose time has passed.
func overdue(d *v1.Delivery) bool {
	return d.GetState() == v1.DeliveryState_DELIVERY_STATE_RETRYING &&
		d.GetNextAttemptTime() != nil && d.GetNextAttemptTime().AsTime().Before(time.Now())
}

// printDeliveries prints the deliveries of an event. With none, it
// prints nothing in text and an empty list in JSON.
func (a *app) printDeliveries(resp *v1.GetDeliveriesResponse,
	circuits map[string]*v1.ApiDestination, showBody bool) error {
	if a.jsonOutput() {
		return a.printProto(resp)
	}

	t := newTable(a.out)
	for i, d := range resp.GetDeliveries() {
		if i > 0 {
			t.row()
		}
		deliveryFields(t, d, showBody)
		if dest := circuits[d.GetApiDestination()]; dest != nil && overdue(d) {
			t.field("circuit", fmt.Sprintf("%s since %s (%s); the next attempt waits for it",
				enumText(dest.GetCircuitState().String(), "CIRCUIT_STATE_"),
				formatTime(dest.GetCircuitChangeTime()), orDash(dest.GetCircuitReason())))
		}
	}
	return t.flush()
}

func deliveryFields(t table, d *v1.Delivery, showBody bool) {
	if d.GetEventSource() != "" {
		t.field("event", eventRef{d.GetEventId(), d.GetEventSource()}.String())
	}
	t.field("rule", d.GetBus()+"/"+d.GetRule())
	t.field("target", d.GetTargetId())
	t.field("destination", d.GetApiDestination())
	t.field("state", enumText(d.GetState().String(), "DELIVERY_STATE_"))
	if d.GetReplayId() != "" {
		t.field("replayed by", d.GetReplayId())
	}
	if n := d.GetRedriveCount(); n > 0 {
		t.field("redrives", itoa(n))
	}
	if d.GetRequest() != nil {
		renderedRequestFields(t, d.GetRequest(), showBody)
	}
	// A redrive starts counting attempts again, so a number that does
	// not grow marks where the next redrive began.
	redrive := int32(0)
	for i, at := range d.GetAttempts() {
		if i > 0 && at.GetNumber() <= d.GetAttempts()[i-1].GetNumber() {
			redrive++
			t.field("  redrive "+itoa(redrive), "attempts counted from 1 again")
		}
		t.field("  attempt "+itoa(at.GetNumber()), attemptText(at))
	}
	if d.GetNextAttemptTime() != nil && d.GetState() == v1.DeliveryState_DELIVERY_STATE_RETRYING {
		t.field("next attempt", formatTime(d.GetNextAttemptTime()))
	}
	if d.GetErrorCode() != "" || d.GetErrorMessage() != "" {
		t.field("error", orDash(d.GetErrorCode())+": "+d.GetErrorMessage())
	}
	if d.GetLocation() != "" {
		t.field("location", d.GetLocation())
	}
}

// renderedRequestFields shows the request that the target rendered.
func renderedRequestFields(t table, r *v1.DeliveryRequest, showBody bool) {
	if len(r.GetPathValues()) > 0 {
		t.field("  path values", strings.Join(r.GetPathValues(), ", "))
	}
	for _, h := range r.GetHeaders() {
		t.field("  header", h.GetName()+": "+h.GetValue())
	}
	for _, q := range r.GetQuery() {
		t.field("  query", q.GetName()+"="+q.GetValue())
	}
	size := itoa(int32(len(r.GetBody()))) + " bytes"
	if r.GetBodyTruncated() {
		// The record keeps the start of a long body; the request that
		// delivery sends carries all of it.
		size = "first " + size + " kept in the record; the request carries the whole body"
	}
	t.field("  body", orDash(r.GetContentType())+", "+size)
	if showBody {
		t.field("  body text", r.GetBody())
	}
}

// attemptText shows an attempt's start, duration and outcome: the status
// code or, when no response came, the error.
func attemptText(at *v1.Attempt) string {
	s := formatTime(at.GetStartTime()) + "  " + formatDuration(at.GetDuration())
	if at.GetStatusCode() != 0 {
		s += "  status " + itoa(at.GetStatusCode())
	}
	if at.GetError() != "" {
		s += "  error: " + at.GetError()
	}
	if at.GetLocation() != "" {
		s += "  Location: " + at.GetLocation()
	}
	return s
}
