// Command moderation is a statecast chat server with a word filter: the
// words of -mask are replaced with *** in every message, and a message
// containing a word of -reject is refused with the error code banned_word.
//
//	go run ./examples/moderation -mask darn,heck -reject spam
//
// then open http://localhost:3005/. The state lives in memory only. The
// filter is an ordinary middleware (filter.go): it needs nothing but the
// public packages server, store and actions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

func main() {
	addr := flag.String("addr", ":3005", "listen address")
	mask := flag.String("mask", "darn,heck", "comma-separated words to replace with ***")
	reject := flag.String("reject", "spam", "comma-separated words whose messages are refused")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	words, err := wordList(*mask, *reject)
	if err == nil {
		err = run(ctx, server.Config{Transport: transport.Config{Addr: *addr}, Logger: log}, words)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "moderation:", err)
		os.Exit(1)
	}
}

// run serves cfg with the filter until ctx ends.
func run(ctx context.Context, cfg server.Config, words map[string]Policy) error {
	filter, err := Filter(words)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	// The filter runs after the built-in Validate, and "***" may be longer
	// than the word it hides: validate its output again.
	srv.Use(filter, middleware.Validate(cfg.Limits))
	return srv.Run(ctx)
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
