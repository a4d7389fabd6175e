package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
	"github.com/switchyard-dev/switchyard/pkg/render"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const transformLong = `Print the HTTP request that each target of a rule would send for an
event, without sending it and without putting the event on a bus. The
rule engine renders requests with the same code, so the body is the
one that delivery sends, byte for byte.

The event is a CloudEvent as JSON. It is checked as ingest checks an
event put over HTTP, so an event that ingest would reject fails with
ingest's message, and a missing id and time are filled as ingest fills
them. A line on standard error shows the values filled. The rule's
pattern is not checked, so any valid event gives a request. In
templates, <switchyard.ingestion-time> is the time of this command.

Method and URL come from each target's API destination, with each "*"
path segment of the URL replaced by the target's path value, escaped.
The connection adds its invocation parameters and authorization on
delivery, which are not shown. A connection parameter replaces a
header or query parameter of the target with the same name.`

type transformFlags struct {
	rule   string
	bus    string
	event  string
	target string
}

func newRuleTestTransformCommand(a *app) *cobra.Command {
	f := &transformFlags{}
	cmd := &cobra.Command{
		Use:   "test-transform --rule NAME --event JSON|@FILE [--bus BUS] [--target ID]",
		Short: "Show the requests a rule would send for an event",
		Long:  transformLong,
		Example: `  switchyard rule test-transform --rule build-on-push \
      --event @push-event.json --target jenkins-build`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.rule == "" || f.event == "" {
				return usagef("rule test-transform needs --rule and --event")
			}
			raw, err := a.readSource("event", f.event)
			if err != nil {
				return err
			}
			source := describeSource("event", f.event)
			ev, e := cloudevent.DecodeStructured(raw)
			if e != nil {
				return rejectedTestEvent(source, e)
			}
			now := time.Now()
			stored, filled, err := completeEvent(ev, now, source)
			if err != nil {
				return err
			}
			meta := render.Meta{EventID: ev.ID(), IngestTime: now}
			return a.testTransform(cmd, f, stored, filled, meta)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.rule, "rule", "", "name of the rule")
	fs.StringVar(&f.bus, "bus", "default", "bus of the rule")
	fs.StringVar(&f.event, "event", "", "CloudEvent: JSON text, @FILE, or @- for standard input")
	fs.StringVar(&f.target, "target", "", "show only the target with this id")
	return cmd
}

// requestPreview is one rendered request, as -o json prints it.
type requestPreview struct {
	Target         string       `json:"target"`
	APIDestination string       `json:"api_destination"`
	Connection     string       `json:"connection"`
	Method         string       `json:"method"`
	URL            string       `json:"url"`
	Headers        []namedValue `json:"headers"`
	Query          []namedValue `json:"query"`
	ContentType    string       `json:"content_type"`
	Body           string       `json:"body"`
}

type namedValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// testTransform previews the requests of the rule's targets for the
// completed event, whose id and ingest time meta holds. Once the rule is
// found, it prints filled, the note on the attributes that
// completeEvent filled, on standard error.
func (a *app) testTransform(cmd *cobra.Command, f *transformFlags, stored []byte,
	filled string, meta render.Meta) error {
	client, err := a.configClient()
	if err != nil {
		return err
	}
	ctx, cancel := a.callContext(cmd)
	defer cancel()

	r, err := client.GetRule(ctx, &v1.GetRuleRequest{Bus: f.bus, Name: f.rule})
	if err != nil {
		return err
	}
	targets, err := selectTargets(r, f.target)
	if err != nil {
		return err
	}
	if filled != "" {
		fmt.Fprintln(a.err, filled)
	}

	meta.Bus, meta.Rule = r.GetBus(), r.GetName()
	previews := make([]*requestPreview, 0, len(targets))
	for _, target := range targets {
		p, err := previewRequest(ctx, client, target, stored, meta)
		if err != nil {
			return a.targetError(target.GetId(), err)
		}
		previews = append(previews, p)
	}
	return a.printPreviews(previews)
}

// targetError names the target in err. A gRPC status keeps its hint,
// and its message replaces the "rpc error: code = ..." text.
func (a *app) targetError(id string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("target %s: %w", id, err)
	}
	return hintError{
		err:  fmt.Errorf("target %s: %s", id, st.Message()),
		hint: a.statusHint(st.Code(), "destination"),
	}
}

// selectTargets returns the rule's targets, or only the one with id.
func selectTargets(r *v1.Rule, id string) ([]*v1.Target, error) {
	if id == "" {
		return r.GetTargets(), nil
	}
	for _, t := range r.GetTargets() {
		if t.GetId() == id {
			return []*v1.Target{t}, nil
		}
	}
	return nil, hintError{
		err:  fmt.Errorf("rule %s/%s has no target %q", r.GetBus(), r.GetName(), id),
		hint: "its targets are " + targetIDs(r.GetTargets()),
	}
}

// completeEvent fills a missing id and time of ev as ingest does for an
// event put over HTTP, and returns the JSON that ingest would store. The
// note it returns names the filled attributes, or is "" when none was
// missing, since the preview then shows values that the event file does
// not contain.
func completeEvent(ev *event.Event, now time.Time, source string) (stored []byte, note string, err error) {
	missing := cloudevent.MissingAttributes(ev)
	stored, e := cloudevent.Complete(ev, now, "")
	if e != nil {
		return nil, "", rejectedTestEvent(source, e)
	}
	if len(missing) == 0 {
		return stored, "", nil
	}
	values := make([]string, len(missing))
	for i, name := range missing {
		values[i] = name + " " + filledValue(ev, name)
	}
	note = fmt.Sprintf("filled the missing %s as ingest does: %s",
		strings.Join(missing, " and "), strings.Join(values, ", "))
	return stored, note, nil
}

// rejectedTestEvent is the usage error for an event that ingest would
// reject with e, read from source.
func rejectedTestEvent(source string, e *cloudevent.Error) error {
	return usagef("invalid %s: ingest would reject it: %v", source, e)
}

// filledValue returns the value of attribute name, "id" or "time", as
// the stored event writes it.
func filledValue(ev *event.Event, name string) string {
	if name == "id" {
		return ev.ID()
	}
	return ev.Time().Format(time.RFC3339Nano)
}

// previewRequest renders the request of one target and completes it
// with its API destination, as delivery does before it signs it.
func previewRequest(ctx context.Context, client v1.ConfigServiceClient, target *v1.Target,
	event []byte, meta render.Meta) (*requestPreview, error) {
	rendered, err := render.Request(event, meta, target)
	if err != nil {
		return nil, err
	}
	dest, err := client.GetApiDestination(ctx,
		&v1.GetApiDestinationRequest{Name: target.GetApiDestination()})
	if err != nil {
		return nil, err
	}

	u, err := render.FillURL(dest.GetUrl(), rendered.GetPathValues())
	if err != nil {
		return nil, fmt.Errorf("api destination %s: %w", dest.GetName(), err)
	}
	query := u.Query()
	for _, q := range rendered.GetQuery() {
		query.Set(q.GetName(), q.GetValue())
	}
	u.RawQuery = query.Encode()

	p := &requestPreview{
		Target:         target.GetId(),
		APIDestination: dest.GetName(),
		Connection:     dest.GetConnection(),
		Method:         orDefault(dest.GetMethod(), dest.GetMethod() == "", http.MethodPost),
		URL:            u.String(),
		Headers:        []namedValue{},
		Query:          []namedValue{},
		ContentType:    rendered.GetContentType(),
		Body:           string(rendered.GetBody()),
	}
	for _, h := range rendered.GetHeaders() {
		p.Headers = append(p.Headers, namedValue{h.GetName(), h.GetValue()})
	}
	for _, q := range rendered.GetQuery() {
		p.Query = append(p.Query, namedValue{q.GetName(), q.GetValue()})
	}
	return p, nil
}

// printPreviews writes the requests as JSON, or in text as HTTP requests
// that each start with a comment line naming target and destination.
func (a *app) printPreviews(previews []*requestPreview) error {
	if a.jsonOutput() {
		return a.printJSON(struct {
			Requests []*requestPreview `json:"requests"`
		}{previews})
	}

	var buf bytes.Buffer
	for i, p := range previews {
		if i > 0 {
			buf.WriteString("\n")
		}
		fmt.Fprintf(&buf, "# target %s: api destination %s, connection %s "+
			"(its parameters and authorization are added on delivery, not shown)\n",
			p.Target, p.APIDestination, p.Connection)
		fmt.Fprintf(&buf, "%s %s\n", p.Method, p.URL)
		if p.Body != "" {
			// Delivery sends no Content-Type without a body.
			fmt.Fprintf(&buf, "Content-Type: %s\n", p.ContentType)
		}
		for _, h := range p.Headers {
			fmt.Fprintf(&buf, "%s: %s\n", h.Name, h.Value)
		}
		buf.WriteString("\n")
		buf.WriteString(p.Body)
		if p.Body != "" && !strings.HasSuffix(p.Body, "\n") {
			buf.WriteString("\n")
		}
	}
	_, err := a.out.Write(buf.Bytes())
	return err
}
