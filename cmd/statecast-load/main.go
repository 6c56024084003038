// Command statecast-load load-tests a statecast (or seed) chat server on
// this machine: fan-out of messages to many clients, with history, with
// slow readers, or a connect storm. `statecast-load -h` lists its flags;
// package internal/loadtest holds the logic and says what it measures.
// `statecast bench` runs the same tool.
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
	err := loadtest.Run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "statecast-load:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the process's exit status after Run returned err: 0 on
// success and for -h, 2 for a bad command line, 1 when the run failed.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, loadtest.ErrUsage):
		return 2
	default:
		return 1
	}
}
