package server_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/transport"
)

// noShouting is a middleware: it refuses chat messages written in capitals
// only, and lets every other action through.
func noShouting(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		var text string
		switch p := a.Payload.(type) {
		case actions.WriteMessage: // from a socket
			text = p.Message
		case actions.PostMessage: // from server code, like the posts below
			text = p.Message
		}
		if strings.ToUpper(text) == text && strings.ToLower(text) != text {
			return &actions.Error{Code: "no_shouting", Message: "please do not shout"}
		}
		return next(ctx, a)
	}
}

func ExampleServer() {
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{
		Transport: transport.Config{Addr: "127.0.0.1:0"}, // any free port
		Data:      "",                                    // keep the state in memory
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.Use(noShouting)
	if err := srv.Open(); err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(ctx)

	// Post two messages as server code would (a socket's writeMessage takes
	// the same way through the chain).
	for _, text := range []string{"Hello, everyone", "HELLO, EVERYONE"} {
		err := srv.Store().Dispatch(ctx, &actions.Action{
			Type: actions.TypePostMessage, Room: "lobby", User: "greeter",
			Payload: actions.PostMessage{Username: "greeter", Message: text},
		})
		fmt.Printf("%q: %v\n", text, err)
	}
	for _, m := range srv.Store().GetState().Room("lobby").Messages() {
		fmt.Printf("%s says %s\n", m.Username, m.Message)
	}
	// Output:
	// "Hello, everyone": <nil>
	// "HELLO, EVERYONE": no_shouting: please do not shout
	// greeter says Hello, everyone
}
