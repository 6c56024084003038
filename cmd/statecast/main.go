// Command statecast is a real-time chat server built as a Redux-style event
// store. Run it with no arguments to serve on :3005; see `statecast -h`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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

// Run runs the command line args until ctx ends. env holds the process
// environment (KEY=VALUE), where STATECAST_* variables set flag defaults.
func Run(ctx context.Context, args, env []string) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, env, nil)
	case "replay":
		return replay(ctx, args, env, os.Stdout)
	case "bench":
		return loadtest.Run(ctx, args, os.Stdout)
	case "help":
		fmt.Fprintln(os.Stderr, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage: statecast [serve] [flags]

commands:
  serve   run the chat server (the default); statecast serve -h lists its flags
  replay  rebuild and print the state from the action log; statecast replay -h
  bench   load-test a chat server on this machine; statecast bench -h`
