// Package cli is the command line of statecast, for any program built on
// package server: one call, Main, gives it every command of `statecast`
// (serve, replay, inspect, whatif) with its own middleware installed.
//
//	func main() {
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//		err := cli.Main(ctx, os.Args[1:], os.Environ(), cli.Name("mychat"), cli.Middleware(myFilter))
//		...
//	}
//
// `mychat serve` then runs the chat server with myFilter after the
// built-in middleware, and `mychat whatif` replays a recorded log through
// it (package whatif) to show what it would have refused or changed.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/whatif"
)

// An Option adds to what Main runs.
type Option func(*program)

// Name names the program in usage and messages. Defaults to "statecast".
func Name(name string) Option { return func(p *program) { p.name = name } }

// Middleware installs mw, in order, after the built-in middleware of
// serve and whatif (see server.Server.Use).
func Middleware(mw ...store.Middleware) Option {
	return Setup(func(*store.Store[chat.State]) ([]store.Middleware, func(), error) { return mw, nil, nil })
}

// Setup installs the middleware setup returns, after those of earlier
// options: for middleware that needs the store (to read the state or
// dispatch actions of its own) or that must be stopped. It runs after the
// flags were parsed, so it may read the values of Flags.
func Setup(setup whatif.Setup) Option {
	return func(p *program) { p.setups = append(p.setups, setup) }
}

// Flags adds the program's own flags to serve and whatif: fn binds them
// on the flag set of each. Like every flag, they take their defaults from
// the STATECAST_ variables.
func Flags(fn func(fs *flag.FlagSet)) Option {
	return func(p *program) { p.flags = append(p.flags, fn) }
}

// Output sets where commands write (out) and report errors and progress
// (errOut). Defaults to standard output and standard error.
func Output(out, errOut io.Writer) Option {
	return func(p *program) { p.out, p.errOut = out, errOut }
}

// Command adds a command of the program's own, or replaces one.
func Command(name, summary string, run func(ctx context.Context, args, env []string) error) Option {
	return func(p *program) { p.commands[name] = command{summary: summary, run: run} }
}

type command struct {
	summary string
	run     func(ctx context.Context, args, env []string) error
}

// program is what Main runs, as its options made it.
type program struct {
	name        string
	setups      []whatif.Setup
	flags       []func(*flag.FlagSet)
	out, errOut io.Writer
	commands    map[string]command
}

func newProgram(opts ...Option) *program {
	p := &program{name: "statecast", out: os.Stdout, errOut: os.Stderr}
	p.commands = map[string]command{
		"serve":   {"run the chat server (the default)", p.runServe},
		"replay":  {"rebuild and print the state from the action log", p.runReplay},
		"inspect": {"serve the inspector over an action log, without the chat", p.runInspect},
		"whatif":  {"replay a recorded log through this program's middleware and report what it would do otherwise", p.runWhatif},
		"version": {"print the version, the VCS commit and its time (also: -version)", p.runVersion},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Main runs the command line args (without the program's name) until ctx
// ends. The first argument names the command; without one, serve runs.
// env holds the process environment (KEY=VALUE), whose STATECAST_*
// variables set flag defaults. -h prints a command's flags and returns
// flag.ErrHelp.
func Main(ctx context.Context, args, env []string, opts ...Option) error {
	p := newProgram(opts...)
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-version" || args[0] == "--version") {
		cmd, args = "version", args[1:]
	}
	if cmd == "help" {
		fmt.Fprintln(p.errOut, p.usage())
		return nil
	}
	c, ok := p.commands[cmd]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", cmd, p.usage())
	}
	return c.run(ctx, args, env)
}

func (p *program) usage() string {
	names := make([]string, 0, len(p.commands))
	for n := range p.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [command] [flags]\n\ncommands:\n", p.name)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-8s %s; %s %s -h\n", n, p.commands[n].summary, p.name, n)
	}
	return strings.TrimRight(b.String(), "\n")
}

// install runs the program's setups on st and returns their middleware and
// a function that stops them all.
func (p *program) install(st *store.Store[chat.State]) ([]store.Middleware, func(), error) {
	var all []store.Middleware
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for _, setup := range p.setups {
		mw, s, err := setup(st)
		if err != nil {
			stop()
			return nil, nil, err
		}
		all = append(all, mw...)
		if s != nil {
			stops = append(stops, s)
		}
	}
	return all, stop, nil
}

// addFlags binds the program's own flags on fs.
func (p *program) addFlags(fs *flag.FlagSet) {
	for _, fn := range p.flags {
		fn(fs)
	}
}

// replaceName puts the program's name in place of statecast in a usage.
func replaceName(usage, name string) string { return strings.ReplaceAll(usage, "statecast", name) }
