// Command statecast is a real-time chat server built as a Redux-style event
// store. Run it with no arguments to serve on :3005; see `statecast help`.
// Its commands come from package cli, which gives a program built on
// package server the same ones with middleware of its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/statecast/statecast/cli"
	"github.com/statecast/statecast/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Environ()); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "statecast:", err)
		}
		os.Exit(2)
	}
}

// stdout is where commands print, stdin where repair reads its answer;
// tests replace them.
var (
	stdout io.Writer = os.Stdout
	stdin  io.Reader = os.Stdin
)

// Run runs the command line args until ctx ends. env holds the process
// environment (KEY=VALUE), where STATECAST_* variables set flag defaults.
func Run(ctx context.Context, args, env []string) error {
	return cli.Main(ctx, args, env, cli.Output(stdout, os.Stderr),
		cli.Command("bench", "load-test a chat server on this machine",
			func(ctx context.Context, args, _ []string) error { return loadtest.Run(ctx, args, stdout) }),
		cli.Command("repair", "cut a damaged action log at its first damage, keeping a copy",
			func(_ context.Context, args, _ []string) error { return repair(args, stdin, stdout) }))
}
