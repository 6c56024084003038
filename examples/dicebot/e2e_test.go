package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the server with the bot in-process, in memory, on a loopback
// port, as run does, and returns its address.
func start(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{Transport: transport.Config{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	bot := NewBot(srv.Store(), BotOptions{})
	srv.Use(bot.Middleware())
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		bot.Close()
	})
	return srv.Addr().String()
}

// frame is one server event, with the fields these tests read.
type frame struct {
	Event        string            `json:"event"`
	Code         string            `json:"code"`
	MessagesList []actions.Message `json:"messagesList"`
}

type client struct {
	t    *testing.T
	conn *websocket.Conn
}

// join connects a WebSocket client to room as id/username.
func join(t *testing.T, addr, room, id, username string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/chat/"+room, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &client{t: t, conn: conn}
	c.write(map[string]string{"event": "connecting", "id": id, "username": username})
	c.await(func(f frame) bool { return f.Event == "connected" })
	return c
}

func (c *client) say(text string) {
	c.write(map[string]string{"event": "writeMessage", "message": text})
}

func (c *client) write(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// await reads frames until one matches, for at most 5s.
func (c *client) await(match func(frame) bool) frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for a frame: %v", err)
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.t.Fatalf("frame %q: %v", b, err)
		}
		if match(f) {
			return f
		}
	}
}

// awaitPost waits for a messageWritten whose newest message is from
// username, and returns that message.
func (c *client) awaitPost(username string) actions.Message {
	c.t.Helper()
	f := c.await(func(f frame) bool {
		n := len(f.MessagesList)
		return f.Event == "messageWritten" && n > 0 && f.MessagesList[n-1].Username == username
	})
	return f.MessagesList[len(f.MessagesList)-1]
}

var rolled = regexp.MustCompile(`^ann rolled 2d6: ([1-6]) \+ ([1-6]) = ([0-9]+)$`)

func TestRollEndToEnd(t *testing.T) {
	t.Parallel()
	addr := start(t)
	ann := join(t, addr, "dice", "u-ann", "ann")
	bob := join(t, addr, "dice", "u-bob", "bob")
	ann.say("/roll 2d6")
	for _, c := range []*client{ann, bob} {
		if cmd := c.awaitPost("ann"); cmd.Message != "/roll 2d6" {
			t.Errorf("ann's message = %q, want the command itself", cmd.Message)
		}
		got := c.awaitPost("dicebot")
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
	addr := start(t)
	ann := join(t, addr, "who", "u-ann", "ann")
	bob := join(t, addr, "who", "u-bob", "bob")
	join(t, addr, "elsewhere", "u-cid", "cid")
	bob.say("/who")
	for _, c := range []*client{ann, bob} {
		if got := c.awaitPost("dicebot"); got.Message != "2 in who: ann, bob" {
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
	go func() { done <- run(ctx, server.Config{Transport: transport.Config{Addr: "127.0.0.1:0"}}) }()
	time.Sleep(100 * time.Millisecond)
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
