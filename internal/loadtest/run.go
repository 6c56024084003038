package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrUsage matches (with errors.Is) every error Run returns for a command
// line it cannot run: an unknown flag, a bad value, a target that is not
// this machine. -h returns flag.ErrHelp instead.
var ErrUsage = errors.New("bad command line")

// usageError is a command-line error; its text is the underlying error's.
type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Run runs the load tool with the command line args (without the program
// name) until the scenario ends, -timeout passes or ctx ends, and prints
// its report to stdout: a summary, or one JSON object (a Report) with
// -json. Warnings about the environment (the open-file limit) go to
// stderr. It returns an error when the command line is bad (ErrUsage) or
// the scenario could not run at all, for example when the clients cannot
// connect; lost messages and stalls are results, reported, not errors.
func Run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseArgs(args)
	if err != nil {
		return err
	}
	if warn := raiseFileLimit(uint64(c.clients+c.slow+c.churn) + 64); warn != "" {
		fmt.Fprintln(os.Stderr, "statecast-load:", warn)
	}
	if c.mode == "soak" {
		return runSoak(ctx, c, defaultSoakPeriods, stdout)
	}
	r, err := measure(ctx, c)
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.Print(stdout)
	return nil
}

// measure runs the scenario c describes, within c.timeout.
func measure(ctx context.Context, c config) (*Report, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r := &Report{Mode: c.mode, Dialect: c.dialect, URL: c.url, Clients: c.clients, PID: c.pid}
	d := newDialer(c)
	defer d.close()
	var err error
	if c.mode == "storm" {
		err = runStorm(ctx, c, d, r)
	} else {
		err = runFanout(ctx, c, d, r)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}
