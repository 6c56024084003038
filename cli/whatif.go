package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	storenats "github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/whatif"
)

const whatifUsage = `usage: statecast whatif [flags]

Replays a recorded action log through this program's middleware as it is
now, in a sandbox (nothing listens, nothing is written; each action keeps
its recorded time and id), and lists every action the middleware now
rejects or changes, and how the final state differs from the recorded one.

  statecast whatif -data ./data          every difference, as text
  statecast whatif -until 5000 -format json

flags:`

// runWhatif runs `statecast whatif`, writing the report to the program's
// out.
func (p *program) runWhatif(ctx context.Context, args, env []string) error {
	c := whatif.Config{}
	var until, format string
	fs := flag.NewFlagSet(p.name+" whatif", flag.ContinueOnError)
	fs.SetOutput(p.errOut)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), replaceName(whatifUsage, p.name))
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Dir, "data", "./data", "the recorded data `directory` (STATECAST_DATA)")
	fs.StringVar(&c.NATS, "nats", "", "replay a cluster's log instead of -data: the NATS servers, comma-separated `URLs` (STATECAST_NATS)")
	fs.StringVar(&c.Stream, "nats-stream", storenats.DefaultStream, "with -nats, the JetStream stream of the action log (STATECAST_NATS_STREAM)")
	fs.IntVar(&c.History, "history", chat.DefaultHistory, "messages retained per room, as serve's (STATECAST_HISTORY)")
	fs.IntVar(&c.Limits.Message, "max-message", 16384, "longest chat message, in characters, as serve's (STATECAST_MAX_MESSAGE)")
	fs.StringVar(&until, "until", "", "stop after this `seq`")
	fs.StringVar(&format, "format", "text", "output format: text, or json")
	p.addFlags(fs)
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	case format != "text" && format != "json":
		return fmt.Errorf("-format %q: want text or json", format)
	case c.History < 1 || c.Limits.Message < 1:
		return errors.New("-history and -max-message must be at least 1")
	}
	if until != "" {
		n, err := strconv.ParseUint(until, 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("-until %q: want a seq (a positive integer)", until)
		}
		c.Until.Seq = n
	}
	c.Setup = func(st *store.Store[chat.State]) ([]store.Middleware, func(), error) { return p.install(st) }
	rep, err := whatif.Run(ctx, c)
	if err != nil {
		return err
	}
	if format == "json" {
		return rep.JSON(p.out)
	}
	return rep.Print(p.out)
}
