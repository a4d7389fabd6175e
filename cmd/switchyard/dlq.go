package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// dlqPageSize is the page size that `dlq list` requests.
const dlqPageSize = 200

// defaultDLQLimit is the number of dead letters `dlq list` shows when
// --limit is not given.
const defaultDLQLimit = 100

func newDLQCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("dlq", "List, redrive and purge dead letters")
	cmd.Long = `A dead letter is a delivery that failed for good: the event, the rule
and target, why it failed and its last response. Its ID is the number
that "dlq list" shows.

"dlq redrive" sends chosen dead letters to their destinations again and
removes them; a redrive that stopped half way may be repeated, and does
not send any task twice. "dlq purge" removes dead letters for good.

A dead letter with error RENDER_FAILED or TASK_TOO_LARGE has no request:
the rule engine could not build one. A redrive renders it again from the
event with the rule's current target, so fix the target with "rule
update" first.`
	cmd.AddCommand(
		newDLQListCommand(a),
		newDLQShowCommand(a),
		newDLQRedriveCommand(a),
		newDLQPurgeCommand(a),
	)
	return cmd
}

// sinceFlag is a --since value: an RFC 3339 time, or a duration that
// counts back from now.
type sinceFlag struct {
	raw string
	now func() time.Time
}

func (f *sinceFlag) register(flags *pflag.FlagSet) {
	flags.StringVar(&f.raw, "since", "",
		"only dead letters stored at or after this time: RFC 3339, "+
			"or a duration ago such as 2h or 30m")
}

// timestamp returns the parsed value, or nil when the flag is unset.
func (f *sinceFlag) timestamp() (*timestamppb.Timestamp, error) {
	if f.raw == "" {
		return nil, nil
	}
	t, err := parseSince(f.raw, f.now())
	if err != nil {
		return nil, err
	}
	return timestamppb.New(t), nil
}

// parseSince reads an RFC 3339 time, or a positive duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	return parseTimeFlag("since", s, now)
}

// parseTimeFlag reads the value of the time flag --name: an RFC 3339
// time, or a positive duration before now.
func parseTimeFlag(name, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, usagef("invalid --%s %q: want an RFC 3339 time such as "+
			"2026-12-04T16:00:00Z, or a positive duration ago such as 2h", name, s)
	}
	return now.Add(-d), nil
}

func newDLQListCommand(a *app) *cobra.Command {
	var (
		bus, rule string
		limit     int
		since     = sinceFlag{now: time.Now}
	)
	cmd := &cobra.Command{
		Use:   "list [--bus BUS] [--rule RULE] [--since TIME]",
		Short: "List dead letters, oldest first",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return usagef("invalid --limit %d: want a positive number", limit)
			}
			ts, err := since.timestamp()
			if err != nil {
				return err
			}
			req := &v1.ListDeadLettersRequest{Bus: bus, Rule: rule, Since: ts}
			resp, err := a.listDeadLetters(cmd, req, limit)
			if err != nil {
				return err
			}
			return a.printDeadLetters(resp)
		},
	}
	cmd.Flags().StringVar(&bus, "bus", "", "only the dead letters of this bus")
	cmd.Flags().StringVar(&rule, "rule", "", "only the dead letters of rules with this name")
	cmd.Flags().IntVar(&limit, "limit", defaultDLQLimit, "show at most this many dead letters")
	since.register(cmd.Flags())
	return cmd
}

// listDeadLetters reads pages until limit dead letters are read or none
// is left. The response holds the token of the next page when more may
// be left.
func (a *app) listDeadLetters(cmd *cobra.Command, req *v1.ListDeadLettersRequest, limit int,
) (*v1.ListDeadLettersResponse, error) {
	client, err := a.configClient()
	if err != nil {
		return nil, err
	}

	out := &v1.ListDeadLettersResponse{}
	for {
		req.PageSize = int32(min(dlqPageSize, limit-len(out.DeadLetters)))
		ctx, cancel := a.callContext(cmd)
		resp, err := client.ListDeadLetters(ctx, req)
		cancel()
		if err != nil {
			return nil, err
		}

		out.DeadLetters = append(out.DeadLetters, resp.GetDeadLetters()...)
		out.NextPageToken = resp.GetNextPageToken()
		if out.NextPageToken == "" || len(out.DeadLetters) >= limit {
			return out, nil
		}
		req.PageToken = out.NextPageToken
	}
}

func (a *app) printDeadLetters(resp *v1.ListDeadLettersResponse) error {
	if a.jsonOutput() {
		return a.printProto(resp)
	}
	if len(resp.GetDeadLetters()) == 0 && resp.GetNextPageToken() == "" {
		_, err := fmt.Fprintln(a.out, "no dead letters")
		return err
	}

	t := newTable(a.out)
	t.row("ID", "STORED", "RULE", "TARGET", "DESTINATION", "ERROR", "STATUS", "ATTEMPTS", "EVENT")
	for _, d := range resp.GetDeadLetters() {
		t.row(d.GetId(), formatTime(d.GetDeadLetterTime()), d.GetBus()+"/"+d.GetRule(),
			d.GetTargetId(), d.GetApiDestination(), orDash(d.GetErrorCode()),
			statusText(d.GetLastStatusCode()), itoa(d.GetAttempts()), d.GetEventId())
	}
	if err := t.flush(); err != nil {
		return err
	}
	if resp.GetNextPageToken() != "" {
		fmt.Fprintln(a.err, "more dead letters may match; raise --limit to see them")
	}
	return nil
}

func statusText(code int32) string {
	if code == 0 {
		return "-"
	}
	return itoa(code)
}

func newDLQShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Aliases: []string{"get"},
		Short:   "Show a dead letter with its request and event",
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			d, err := client.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: args[0]})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printProto(d)
			}
			return a.printDeadLetter(d)
		},
	}
}

func (a *app) printDeadLetter(d *v1.DeadLetter) error {
	t := newTable(a.out)
	t.field("id", d.GetId())
	t.field("stored", formatTime(d.GetDeadLetterTime()))
	t.field("rule", d.GetBus()+"/"+d.GetRule())
	t.field("target", d.GetTargetId())
	t.field("destination", d.GetApiDestination())
	t.field("event", d.GetEventId()+" from "+orDash(d.GetEventSource()))
	t.field("error", orDash(d.GetErrorCode())+": "+d.GetErrorMessage())
	t.field("last status", statusText(d.GetLastStatusCode()))
	t.field("attempts", itoa(d.GetAttempts()))
	t.field("first attempt", formatTime(d.GetFirstAttemptTime()))
	t.field("last attempt", formatTime(d.GetLastAttemptTime()))
	t.field("redrives", itoa(d.GetRedriveCount()))
	if r := d.GetRequest(); r != nil {
		requestFields(t, r)
	}
	if err := t.flush(); err != nil {
		return err
	}

	if d.GetResponseExcerpt() != "" {
		fmt.Fprintf(a.out, "\nresponse excerpt:\n%s\n", d.GetResponseExcerpt())
	}
	_, err := fmt.Fprintf(a.out, "\nevent:\n%s\n", d.GetEvent())
	return err
}

func requestFields(t table, r *v1.DeadLetterRequest) {
	if len(r.GetPathValues()) > 0 {
		t.field("path values", strings.Join(r.GetPathValues(), ", "))
	}
	for _, name := range sortedKeys(r.GetHeaders()) {
		t.field("header "+name, r.GetHeaders()[name])
	}
	for _, name := range sortedKeys(r.GetQuery()) {
		t.field("query "+name, r.GetQuery()[name])
	}
	if r.GetContentType() != "" {
		t.field("content type", r.GetContentType())
	}
	if r.GetBody() != "" {
		t.field("body", r.GetBody())
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// selectorFlags choose dead letters for redrive and purge.
type selectorFlags struct {
	bus   string
	rule  string
	ids   []string
	all   bool
	since sinceFlag
}

func (f *selectorFlags) register(flags *pflag.FlagSet, verb string) {
	flags.StringVar(&f.bus, "bus", "", verb+" the dead letters of this bus")
	flags.StringVar(&f.rule, "rule", "", verb+" the dead letters of rules with this name")
	flags.StringSliceVar(&f.ids, "ids", nil,
		verb+" these dead letters, by ID; repeat the flag or separate IDs by commas")
	flags.BoolVar(&f.all, "all", false, verb+" every dead letter when no other flag narrows the choice")
	f.since.register(flags)
}

// selector builds the request's selector. It rejects a command line
// that chooses nothing, so that every dead letter is only chosen with
// --all.
func (f *selectorFlags) selector(verb string) (*v1.DeadLetterSelector, error) {
	since, err := f.since.timestamp()
	if err != nil {
		return nil, err
	}
	sel := &v1.DeadLetterSelector{Bus: f.bus, Rule: f.rule, Since: since, Ids: f.ids, All: f.all}
	if !f.all && f.bus == "" && f.rule == "" && since == nil && len(f.ids) == 0 {
		return nil, usageError{err: fmt.Errorf("nothing to %s: choose dead letters with "+
			"--bus, --rule, --since or --ids, or give --all for every one", verb), help: true}
	}
	return sel, nil
}

func newDLQRedriveCommand(a *app) *cobra.Command {
	f := selectorFlags{since: sinceFlag{now: time.Now}}
	cmd := &cobra.Command{
		Use:   "redrive (--bus BUS | --rule RULE | --since TIME | --ids ID,... | --all)",
		Short: "Send dead letters to their destinations again",
		Long: `Send the chosen dead letters to their destinations again, as new
deliveries with fresh attempts, and remove them from the dead letters.
Flags narrow the choice together.

A redrive that stopped half way may be repeated: a dead letter whose task
was sent already is only removed. One whose earlier redrive stopped at an
unknown point is skipped, with the reason, once three quarters of the
DELIVERIES duplicate window (90s by default) have passed, rather than
risk calling its endpoint twice.

A dead letter without a request (RENDER_FAILED, TASK_TOO_LARGE) is rendered
again with the rule's current target. It is skipped, with the reason, when
the rule or target no longer exists or the request still cannot be built.

--request-timeout bounds the whole redrive; raise it for many dead letters.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sel, err := f.selector("redrive")
			if err != nil {
				return err
			}
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := client.RedriveDeadLetters(ctx,
				&v1.RedriveDeadLettersRequest{Selector: sel})
			if err != nil {
				return err
			}
			return a.printRedrive(resp)
		},
	}
	f.register(cmd.Flags(), "redrive")
	return cmd
}

// printRedrive prints the result of a redrive. A dead letter that was
// skipped makes the command fail after the output, so a script notices
// that not everything it chose was sent again.
func (a *app) printRedrive(resp *v1.RedriveDeadLettersResponse) error {
	if a.jsonOutput() {
		if err := a.printProto(resp); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.out, "redriven %d, skipped %d\n", resp.GetRedriven(), resp.GetSkipped())
		t := newTable(a.out)
		for _, s := range resp.GetSkippedDeadLetters() {
			t.row("  skipped "+s.GetId()+":", s.GetReason())
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if n := resp.GetSkipped(); n > 0 {
		return fmt.Errorf("%s not redriven; the reasons are listed above "+
			"(`switchyard dlq list` shows the dead letters left)", plural(int(n), "dead letter"))
	}
	return nil
}

func newDLQPurgeCommand(a *app) *cobra.Command {
	f := selectorFlags{since: sinceFlag{now: time.Now}}
	cmd := &cobra.Command{
		Use:   "purge (--bus BUS | --rule RULE | --since TIME | --ids ID,... | --all)",
		Short: "Remove dead letters for good",
		Long: `Remove the chosen dead letters for good. Flags narrow the choice
together. With --ids, the dead letters found are purged, and the command
then names the IDs that were not found and fails with exit status 1.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sel, err := f.selector("purge")
			if err != nil {
				return err
			}
			return a.purge(cmd, sel)
		},
	}
	f.register(cmd.Flags(), "purge")
	return cmd
}

// purge purges the dead letters that sel chooses and fails, after the
// output, when some of the IDs it names were skipped.
func (a *app) purge(cmd *cobra.Command, sel *v1.DeadLetterSelector) error {
	ids, err := deadLetterIDs(sel.GetIds())
	if err != nil {
		return err
	}
	sel.Ids = ids
	client, err := a.configClient()
	if err != nil {
		return err
	}
	ctx, cancel := a.callContext(cmd)
	defer cancel()

	resp, err := client.PurgeDeadLetters(ctx, &v1.PurgeDeadLettersRequest{Selector: sel})
	if err != nil {
		return err
	}
	if err := a.printPurged(resp); err != nil {
		return err
	}
	skipped := resp.GetSkippedDeadLetters()
	if len(skipped) == 0 {
		return nil
	}
	lines := make([]string, len(skipped))
	for i, d := range skipped {
		lines[i] = fmt.Sprintf("dead letter %s: %s", d.GetId(), d.GetReason())
	}
	return hintError{
		err:  fmt.Errorf("%s not purged:\n%s", plural(len(skipped), "dead letter"), strings.Join(lines, "\n")),
		hint: notFoundHint("dlq"),
	}
}

// deadLetterIDs checks that ids are dead letter IDs, the numbers that
// `dlq list` shows, and returns them without repeats.
func deadLetterIDs(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if n, err := strconv.ParseUint(id, 10, 64); err != nil || n == 0 {
			return nil, usagef("invalid --ids value %q: a dead letter ID is a positive number, "+
				"as `switchyard dlq list` shows", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// printPurged reports how many dead letters were purged.
func (a *app) printPurged(resp *v1.PurgeDeadLettersResponse) error {
	if a.jsonOutput() {
		return a.printProto(resp)
	}
	_, err := fmt.Fprintf(a.out, "purged %s\n", plural(int(resp.GetPurged()), "dead letter"))
	return err
}
