package main

import (
	"github.com/spf13/cobra"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// missingRuleObjectHint is the hint for a rule whose --bus or --target
// does not exist.
const missingRuleObjectHint = "`switchyard bus list` and `switchyard destination list` " +
	"show the buses and API destinations"

const ruleLong = `A rule sends the events of a bus that match its event pattern to one to
five targets. Each target calls an API destination; its id is the
destination's name.

The target flags (--path-value, --target-header, --target-query,
--input-path, --content-type, --max-attempts, --max-age, --backoff-base,
--backoff-max, --dead-letter) apply to every --target of the command. On
update without --target they change every target of the rule; with
--target the rule gets exactly the targets listed, and a listed target
that exists keeps its other settings.`

func newRuleCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("rule", "Manage rules: which events go to which destinations")
	cmd.Long = ruleLong
	cmd.AddCommand(
		newRuleCreateCommand(a),
		newRuleGetCommand(a),
		newRuleListCommand(a),
		newRuleUpdateCommand(a),
		newRuleDeleteCommand(a),
		newRuleTestTransformCommand(a),
	)
	return cmd
}

func newRuleCreateCommand(a *app) *cobra.Command {
	f := &ruleFlags{}
	cmd := &cobra.Command{
		Use:   "create NAME --pattern JSON|@FILE --target DESTINATION... [flags]",
		Short: "Create a rule",
		Long:  ruleLong,
		Example: `  switchyard rule create build-on-push --bus default \
      --pattern '{"type":["com.github.push"],"data":{"ref":["refs/heads/main"]}}' \
      --target jenkins-build --path-value '$.data.repository.name'`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("pattern") || len(f.targets) == 0 {
				return usagef("rule create needs --pattern and at least one --target")
			}
			r := &v1.Rule{Bus: f.bus, Name: args[0], State: v1.RuleState_RULE_STATE_ENABLED}
			if err := f.apply(a, cmd.Flags(), r); err != nil {
				return err
			}

			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			r, err = client.CreateRule(ctx, &v1.CreateRuleRequest{Rule: r})
			if err != nil {
				return withFlags(withPreconditionHint(err, missingRuleObjectHint), ruleFieldFlag)
			}
			return a.printRule(r)
		},
	}
	f.register(cmd.Flags(), false)
	return cmd
}

func newRuleGetCommand(a *app) *cobra.Command {
	var bus string
	cmd := &cobra.Command{
		Use:   "get NAME [--bus BUS]",
		Short: "Show a rule",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			r, err := client.GetRule(ctx, &v1.GetRuleRequest{Bus: bus, Name: args[0]})
			if err != nil {
				return err
			}
			return a.printRule(r)
		},
	}
	cmd.Flags().StringVar(&bus, "bus", "default", "bus of the rule")
	return cmd
}

func newRuleListCommand(a *app) *cobra.Command {
	var bus string
	cmd := &cobra.Command{
		Use:   "list [--bus BUS]",
		Short: "List rules, of every bus unless --bus is given",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := client.ListRules(ctx, &v1.ListRulesRequest{Bus: bus})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printProto(resp)
			}

			t := newTable(a.out)
			t.row("BUS", "NAME", "STATE", "TARGETS", "REVISION")
			for _, r := range resp.GetRules() {
				t.row(r.GetBus(), r.GetName(), ruleStateText(r.GetState()),
					targetIDs(r.GetTargets()), itoa(r.GetRevision()))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&bus, "bus", "", "list only the rules of this bus")
	return cmd
}

// newRuleUpdateCommand reads the rule, changes what the flags give and
// writes it back with the revision it read.
func newRuleUpdateCommand(a *app) *cobra.Command {
	f := &ruleFlags{}
	cmd := &cobra.Command{
		Use:   "update NAME [--bus BUS] [flags]",
		Short: "Change a rule",
		Long:  ruleLong,
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !localFlagsChanged(cmd, "bus") {
				return usagef("nothing to update: give the flags to change")
			}
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			r, err := client.GetRule(ctx, &v1.GetRuleRequest{Bus: f.bus, Name: args[0]})
			if err != nil {
				return err
			}
			if err := f.apply(a, cmd.Flags(), r); err != nil {
				return err
			}
			r, err = client.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: r})
			if err != nil {
				return withFlags(withPreconditionHint(err, missingRuleObjectHint), ruleFieldFlag)
			}
			return a.printRule(r)
		},
	}
	f.register(cmd.Flags(), true)
	return cmd
}

func newRuleDeleteCommand(a *app) *cobra.Command {
	var bus string
	cmd := &cobra.Command{
		Use:   "delete NAME [--bus BUS]",
		Short: "Delete a rule",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			_, err = client.DeleteRule(ctx, &v1.DeleteRuleRequest{Bus: bus, Name: args[0]})
			if err != nil {
				return err
			}
			return a.printDeleted("rule", bus+"/"+args[0])
		},
	}
	cmd.Flags().StringVar(&bus, "bus", "default", "bus of the rule")
	return cmd
}

func ruleStateText(s v1.RuleState) string { return enumText(s.String(), "RULE_STATE_") }
