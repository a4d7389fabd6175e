package main

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func newBusCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("bus", "Manage event buses")
	cmd.AddCommand(
		newBusCreateCommand(a),
		newBusGetCommand(a),
		newBusListCommand(a),
		newBusUpdateCommand(a),
		newBusDeleteCommand(a),
	)
	return cmd
}

func newBusCreateCommand(a *app) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a bus",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			bus := &v1.Bus{Name: args[0], Description: description}
			bus, err = client.CreateBus(ctx, &v1.CreateBusRequest{Bus: bus})
			if err != nil {
				return withFlags(err, busFieldFlag)
			}
			return a.printBus(bus)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the bus carries")
	return cmd
}

func newBusGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show a bus",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			bus, err := client.GetBus(ctx, &v1.GetBusRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.printBus(bus)
		},
	}
}

func newBusListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List buses",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := client.ListBuses(ctx, &v1.ListBusesRequest{})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printProto(resp)
			}

			t := newTable(a.out)
			t.row("NAME", "REVISION", "DESCRIPTION")
			for _, b := range resp.GetBuses() {
				t.row(b.GetName(), itoa(b.GetRevision()), b.GetDescription())
			}
			return t.flush()
		},
	}
}

// newBusUpdateCommand changes a bus's description. It sends the revision
// it read, so a concurrent change fails with Aborted instead of being
// overwritten.
func newBusUpdateCommand(a *app) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "update NAME --description TEXT",
		Short: "Change a bus's description",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("description") {
				return usagef("nothing to update: give --description")
			}
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			bus, err := client.GetBus(ctx, &v1.GetBusRequest{Name: args[0]})
			if err != nil {
				return err
			}
			bus.Description = description
			bus, err = client.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: bus})
			if err != nil {
				return withFlags(err, busFieldFlag)
			}
			return a.printBus(bus)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the bus carries")
	return cmd
}

func newBusDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a bus",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			_, err = client.DeleteBus(ctx, &v1.DeleteBusRequest{Name: args[0]})
			if err != nil {
				return withPreconditionHint(err, busInUseHint(args[0]))
			}
			return a.printDeleted("bus", args[0])
		},
	}
}

func (a *app) printBus(b *v1.Bus) error {
	if a.jsonOutput() {
		return a.printProto(b)
	}

	t := newTable(a.out)
	t.field("name", b.GetName())
	t.field("description", orDash(b.GetDescription()))
	t.field("revision", itoa(b.GetRevision()))
	t.field("created", formatTime(b.GetCreateTime()))
	t.field("updated", formatTime(b.GetUpdateTime()))
	return t.flush()
}

// busInUseHint is the hint for a bus that cannot be deleted because it
// has rules. The default bus cannot be deleted at all, so it gets none.
func busInUseHint(name string) string {
	if name == "default" {
		return ""
	}
	return fmt.Sprintf("`switchyard rule delete RULE --bus %s` deletes one of its rules", name)
}
