package main

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/cli"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the server with the bot in-process, in memory, on a loopback
// port, as run does; the bot stops after the server.
func start(t *testing.T) *chattest.Server {
	t.Helper()
	return chattest.StartWith(t, server.Config{Data: chattest.Memory}, func(srv *server.Server) {
		bot := NewBot(srv.Store(), BotOptions{})
		srv.Use(bot.Middleware())
		t.Cleanup(bot.Close)
	})
}

// awaitPost waits for a messageWritten whose newest message is from
// username, and returns that message.
func awaitPost(t *testing.T, c *chattest.Client, username string) actions.Message {
	t.Helper()
	var list []actions.Message
	c.Await(func(e chattest.Event) bool {
		if e.Name() != "messageWritten" {
			return false
		}
		e.Decode(t, "messagesList", &list)
		return len(list) > 0 && list[len(list)-1].Username == username
	})
	return list[len(list)-1]
}

var rolled = regexp.MustCompile(`^ann rolled 2d6: ([1-6]) \+ ([1-6]) = ([0-9]+)$`)

func TestRollEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t)
	ann, _ := s.Join(t, "/chat/dice", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/dice", "u-bob", "bob")
	ann.Say("/roll 2d6")
	for _, c := range []*chattest.Client{ann, bob} {
		if cmd := awaitPost(t, c, "ann"); cmd.Message != "/roll 2d6" {
			t.Errorf("ann's message = %q, want the command itself", cmd.Message)
		}
		got := awaitPost(t, c, "dicebot")
		m := rolled.FindStringSubmatch(got.Message)
		if m == nil {
			t.Fatalf("bot answered %q", got.Message)
		}
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		if total != a+b || total < 2 || total > 12 {
			t.Errorf("bot answered %q", got.Message)
		}
		if got.UserID != "dicebot" || got.Seq == 0 {
			t.Errorf("bot message %+v", got)
		}
	}
}

func TestWhoEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t)
	ann, _ := s.Join(t, "/chat/who", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/who", "u-bob", "bob")
	s.Join(t, "/chat/elsewhere", "u-cid", "cid")
	bob.Say("/who")
	for _, c := range []*chattest.Client{ann, bob} {
		if got := awaitPost(t, c, "dicebot"); got.Message != "2 in who: ann, bob" {
			t.Errorf("who answered %q", got.Message)
		}
	}
}

// TestRunStopsWithItsContext runs main's wiring: it serves until the
// context ends, then stops the server and the bot (goleak checks).
func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := chattest.NewServingLog()
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-format", "json"}, nil, cli.Output(io.Discard, log))
	}()
	log.Await(t)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
