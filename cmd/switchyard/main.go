// Command switchyard is the command-line client of Switchyard: it manages
// buses, connections, API destinations and rules over the config service's
// gRPC API, puts events through the ingest HTTP API, shows deliveries and
// tests event patterns locally.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], osStreams())
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code:
// 0 on success, 1 on a failure, 2 on a usage error or invalid input.
// Commands such as `pattern test` choose other codes through exitCode.
func run(ctx context.Context, args []string, s streams) int {
	a := newApp(s)
	root := newRootCommand(a)
	root.SetArgs(args)

	cmd, err := root.ExecuteContextC(ctx)
	a.close()
	return a.report(cmd, err)
}
