// Command dicebot is a statecast chat server with a bot that answers
// commands typed in chat: /roll 2d6 throws two six-sided dice, /who lists
// the room's users, /help lists the commands.
//
//	go run ./examples/dicebot -addr :3005
//
// then open http://localhost:3005/ in two browser tabs. The state lives in
// memory only. The bot is an ordinary middleware (bot.go): it needs nothing
// but the public packages server, store, store/chat and actions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

func main() {
	addr := flag.String("addr", ":3005", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	if err := run(ctx, server.Config{Transport: transport.Config{Addr: *addr}, Logger: log}); err != nil {
		fmt.Fprintln(os.Stderr, "dicebot:", err)
		os.Exit(1)
	}
}

// run serves cfg with the bot until ctx ends.
func run(ctx context.Context, cfg server.Config) error {
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	bot := NewBot(srv.Store(), BotOptions{Logger: cfg.Logger})
	defer bot.Close() // runs after Run has shut the server down
	srv.Use(bot.Middleware())
	return srv.Run(ctx)
}
