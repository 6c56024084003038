package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	rp "github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store/chat"
	storenats "github.com/statecast/statecast/store/nats"
)

const replayUsage = `usage: statecast replay [flags]

Rebuilds the chat state from the action log in the data directory and prints
it, or the actions that led to it: with -diff, -type or -user it lists the
selected actions (up to -until or -until-time) instead of the state. It opens
the directory read-only, so it is safe to run against a live server's data
(it sees the log as it was when it started). With -nats it reads a cluster's
log, the JetStream stream -nats-stream, the same way: it only reads (it never
creates the stream), and sees the stream as it was when it started.

  statecast replay                        the state after the last action
  statecast replay -until 1200 -room chat the room as it was after seq 1200
  statecast replay -diff -user 17         what each of user 17's actions changed
  statecast replay -type message/write -format json | jq .payload.Message
  statecast replay -verify                rebuild from the log alone and compare with every snapshot
  statecast replay -nats nats://10.0.0.1:4222,nats://10.0.0.2:4222 -diff -room chat
                                          what changed in room chat, read from a cluster's stream

flags:`

// parseReplay turns the flags and STATECAST_* variables of `statecast
// replay` into the rp.Config they ask for; name is the program's.
func parseReplay(name string, args, env []string, errOut io.Writer) (rp.Config, error) {
	c := rp.Config{Name: name + " replay"}
	var until, untilTime, format string
	fs := flag.NewFlagSet(name+" replay", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), replaceName(replayUsage, name))
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Dir, "data", "./data", "the server's data `directory` (STATECAST_DATA)")
	fs.StringVar(&c.NATS, "nats", "", "read the log of a cluster instead of -data: the NATS servers, comma-separated `URLs`, as serve's -nats (STATECAST_NATS)")
	fs.StringVar(&c.Stream, "nats-stream", storenats.DefaultStream, "with -nats, the JetStream stream of the action log (STATECAST_NATS_STREAM)")
	fs.IntVar(&c.History, "history", chat.DefaultHistory, "messages retained per room; must match the servers' -history (STATECAST_HISTORY)")
	fs.StringVar(&until, "until", "", "stop after this `seq`")
	fs.StringVar(&untilTime, "until-time", "", "stop before the first action after this `time` (RFC 3339)")
	fs.StringVar(&c.Filter.Room, "room", "", "show only this room")
	fs.StringVar(&c.Filter.Type, "type", "", "list the actions of this `type` (for example message/write)")
	fs.StringVar(&c.Filter.User, "user", "", "list the actions of this user `id`")
	fs.BoolVar(&c.Diff, "diff", false, "list each selected action with the change it made")
	fs.StringVar(&format, "format", "text", "output format: text, or json (one object per line)")
	fs.BoolVar(&c.Verify, "verify", false, "rebuild the state from the log alone and compare it with every snapshot")
	fs.StringVar(&c.Progress, "progress", "auto", "progress bar on standard error: auto (on a terminal), on, off")
	if err := applyEnv(fs, env); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if until != "" {
		if c.Until.Seq, err = strconv.ParseUint(until, 10, 64); err != nil || c.Until.Seq == 0 {
			return c, fmt.Errorf("-until %q: want a seq (a positive integer)", until)
		}
	}
	if untilTime != "" {
		if c.Until.Time, err = time.Parse(time.RFC3339Nano, untilTime); err != nil {
			return c, fmt.Errorf("-until-time %q: want RFC 3339, like 2026-11-25T18:00:00Z", untilTime)
		}
	}
	if format == "json" {
		c.Format = rp.JSON
	}
	switch {
	case format != "text" && format != "json":
		return c, fmt.Errorf("-format %q: want text or json", format)
	case c.Progress != "auto" && c.Progress != "on" && c.Progress != "off":
		return c, fmt.Errorf("-progress %q: want auto, on or off", c.Progress)
	case c.History < 1:
		return c, fmt.Errorf("-history must be at least 1")
	}
	return c, nil
}

// runReplay runs `statecast replay`, writing to the program's out; the
// progress bar and flag errors go to its errOut.
func (p *program) runReplay(ctx context.Context, args, env []string) error {
	return p.replayTo(ctx, args, env, p.out, p.errOut)
}

// replayTo is runReplay writing to out and errOut. A limit before the
// oldest state the log holds is named by its flag.
func (p *program) replayTo(ctx context.Context, args, env []string, out, errOut io.Writer) error {
	c, err := parseReplay(p.name, args, env, errOut)
	if err != nil {
		return err
	}
	err = rp.Run(ctx, c, out, errOut)
	var limit *rp.LimitError
	switch {
	case !errors.As(err, &limit):
		return err
	case limit.Until.Seq != 0:
		return fmt.Errorf("-until %d: %s", limit.Until.Seq, limit.Reason)
	default:
		return fmt.Errorf("-until-time %s: %s", limit.Until.Time.Format(time.RFC3339Nano), limit.Reason)
	}
}
