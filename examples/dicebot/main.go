// Command dicebot is a statecast chat server with a bot that answers
// commands typed in chat: /roll 2d6 throws two six-sided dice, /who lists
// the room's users, /help lists the commands.
//
//	go run ./examples/dicebot serve -addr :3005
//
// then open http://localhost:3005/ in two browser tabs. It has every
// command of statecast (package cli) with the bot installed. The bot is an
// ordinary middleware (bot.go): it needs nothing but the public packages
// server, store, store/chat and actions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/statecast/statecast/cli"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ()); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dicebot:", err)
		}
		os.Exit(2)
	}
}

// run runs the command line args with the bot, as statecast runs its own
// (cli.Main); opts come after the program's. The bot stops after the
// server (or the what-if sandbox) it posts to.
func run(ctx context.Context, args, env []string, opts ...cli.Option) error {
	own := []cli.Option{
		cli.Name("dicebot"),
		cli.Setup(func(st *store.Store[chat.State]) ([]store.Middleware, func(), error) {
			bot := NewBot(st, BotOptions{})
			return []store.Middleware{bot.Middleware()}, bot.Close, nil
		}),
	}
	return cli.Main(ctx, args, env, append(own, opts...)...)
}
