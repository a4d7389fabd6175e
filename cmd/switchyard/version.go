package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3". Without it the module version that
// `go install` records is shown, or "devel".
var version = ""

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of switchyard",
		Args:  exactArgs(),
		RunE: func(*cobra.Command, []string) error {
			v := buildVersion()
			if a.jsonOutput() {
				return a.printJSON(map[string]string{"version": v, "go": runtime.Version()})
			}
			_, err := fmt.Fprintf(a.out, "switchyard %s (%s)\n", v, runtime.Version())
			return err
		},
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}
