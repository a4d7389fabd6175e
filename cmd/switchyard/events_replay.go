package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const replayLong = `Send the events that a bus stored within a time window through the bus's
current rules again. The events come from the EVENTS stream, which keeps
them for its retention (7 days unless --events-max-age says otherwise);
older events cannot be replayed.

The window contains the events stored at or after --from and at or before --to.
Both take an RFC 3339 time or a duration ago such as 2h; --to defaults to
now. With --rule, only that rule matches the replayed events.

Each replayed delivery is a new delivery with its own record, marked with
the replay id, beside the record of the first delivery: "deliveries get"
shows both. The command prints the replay id and how many events were
queued; the rule engine matches them shortly after. A replay of more than
100000 events is rejected: split the window.

--id names the replay. Repeating a call with the same --id within 2
minutes queues no event twice, so a call that timed out may be retried.`

// defaultEventsMaxAge is the retention of the EVENTS stream when
// --events-max-age is not given, the same as streams.Options' default.
const defaultEventsMaxAge = 7 * 24 * time.Hour

// checkEventsMaxAge rejects an --events-max-age that the streams would
// reject at start, with the limit in the message.
func checkEventsMaxAge(d time.Duration) error {
	if d < jsstreams.MinEventsMaxAge {
		return usagef("invalid --events-max-age %s: want at least %s, "+
			"the streams' duplicate window", d, jsstreams.MinEventsMaxAge)
	}
	return nil
}

// replayFlags are the flags of events replay.
type replayFlags struct {
	bus  string
	from string
	to   string
	rule string
	id   string
	now  func() time.Time
}

func newEventsReplayCommand(a *app) *cobra.Command {
	f := &replayFlags{now: time.Now}
	cmd := &cobra.Command{
		Use:   "replay --from TIME [--to TIME] [--bus BUS] [--rule RULE] [--id ID]",
		Short: "Send archived events of a time window through the current rules again",
		Long:  replayLong,
		Example: `  switchyard events replay --bus default --from 2h
  switchyard events replay --from 2026-12-04T09:00:00Z --to 2026-12-04T10:00:00Z --rule build`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request()
			if err != nil {
				return err
			}
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := client.ReplayEvents(ctx, req)
			if err != nil {
				return err
			}
			return a.printReplay(resp)
		},
	}

	fs := cmd.Flags()
	fs.StringVar(&f.bus, "bus", "default", "bus whose events are replayed")
	fs.StringVar(&f.from, "from", "",
		"start of the window: RFC 3339, or a duration ago such as 2h (required)")
	fs.StringVar(&f.to, "to", "",
		"end of the window: RFC 3339, or a duration ago such as 30m (default: now)")
	fs.StringVar(&f.rule, "rule", "", "only this rule matches the replayed events (default: every rule)")
	fs.StringVar(&f.id, "id", "",
		"replay id: lowercase letters, digits and '-' (default: chosen by the config service)")
	return cmd
}

// request checks the flags and builds the ReplayEvents request. Both
// times are read against one clock reading, so "--from 2h --to 1h" is
// exactly one hour long.
func (f *replayFlags) request() (*v1.ReplayEventsRequest, error) {
	if f.from == "" {
		return nil, usagef("events replay needs --from: the start of the window, " +
			"such as 2h or 2026-12-04T09:00:00Z")
	}
	now := f.now()
	from, err := parseTimeFlag("from", f.from, now)
	if err != nil {
		return nil, err
	}
	to := now
	if f.to != "" {
		if to, err = parseTimeFlag("to", f.to, now); err != nil {
			return nil, err
		}
	}
	if to.Before(from) {
		return nil, usagef("invalid window: --to %s is before --from %s",
			to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return &v1.ReplayEventsRequest{
		Bus:       f.bus,
		StartTime: timestamppb.New(from),
		EndTime:   timestamppb.New(to),
		Rule:      f.rule,
		ReplayId:  f.id,
	}, nil
}

// printReplay prints the replay id and the number of queued events.
func (a *app) printReplay(resp *v1.ReplayEventsResponse) error {
	if a.jsonOutput() {
		return a.printProto(resp)
	}
	_, err := fmt.Fprintf(a.out, "replay %s: %d events queued\n",
		resp.GetReplayId(), resp.GetQueuedEvents())
	return err
}
