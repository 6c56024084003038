// Command moderation is a statecast chat server with a word filter: the
// words of -mask are replaced with *** in every message, and a message
// containing a word of -reject is refused with the error code banned_word.
//
//	go run ./examples/moderation serve -mask darn,heck -reject spam
//
// then open http://localhost:3005/. It has every command of statecast
// (package cli) with the filter installed: `moderation whatif -data ./data`
// replays a log recorded without the filter, or with other words, through
// it and lists the messages it would have refused or masked. The filter is
// an ordinary middleware (filter.go): it needs nothing but the public
// packages server, store and actions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/statecast/statecast/cli"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ()); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "moderation:", err)
		}
		os.Exit(2)
	}
}

// run runs the command line args with the filter, as statecast runs its
// own (cli.Main); opts come after the program's.
func run(ctx context.Context, args, env []string, opts ...cli.Option) error {
	var mask, reject string
	own := []cli.Option{
		cli.Name("moderation"),
		cli.Flags(func(fs *flag.FlagSet) {
			fs.StringVar(&mask, "mask", "darn,heck", "comma-separated words to replace with *** (STATECAST_MASK)")
			fs.StringVar(&reject, "reject", "spam", "comma-separated words whose messages are refused (STATECAST_REJECT)")
		}),
		cli.Setup(func(*store.Store[chat.State]) ([]store.Middleware, func(), error) {
			words, err := wordList(mask, reject)
			if err != nil {
				return nil, nil, err
			}
			filter, err := Filter(words)
			if err != nil {
				return nil, nil, err
			}
			// The filter runs after the built-in Validate, and "***" may be
			// longer than the word it hides: validate its output again.
			return []store.Middleware{filter, middleware.Validate(middleware.Limits{})}, nil, nil
		}),
	}
	return cli.Main(ctx, args, env, append(own, opts...)...)
}

// wordList makes the filter's list from the comma-separated flags.
func wordList(mask, reject string) (map[string]Policy, error) {
	words := map[string]Policy{}
	for _, l := range []struct {
		words  string
		policy Policy
	}{{mask, Mask}, {reject, Reject}} {
		for _, w := range strings.Split(l.words, ",") {
			w = strings.ToLower(strings.TrimSpace(w))
			if _, dup := words[w]; dup {
				return nil, fmt.Errorf("%q is listed twice", w)
			}
			if w != "" {
				words[w] = l.policy
			}
		}
	}
	return words, nil
}
