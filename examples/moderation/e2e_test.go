package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the server with the filter in-process, in memory, on a
// loopback port, as run does, and returns its address.
func start(t *testing.T) string {
	t.Helper()
	filter, err := Filter(map[string]Policy{"darn": Mask, "spam": Reject})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{Transport: transport.Config{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Use(filter, middleware.Validate(middleware.Limits{}))
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv.Addr().String()
}

// frame is one server event, with the fields these tests read.
type frame struct {
	Event        string            `json:"event"`
	Code         string            `json:"code"`
	Ref          string            `json:"ref"`
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

// nextMessages waits for the next messageWritten and returns its texts.
func (c *client) nextMessages() []string {
	c.t.Helper()
	f := c.await(func(f frame) bool { return f.Event == "messageWritten" || f.Event == "error" })
	if f.Event == "error" {
		c.t.Fatalf("unexpected error event %+v", f)
	}
	var texts []string
	for _, m := range f.MessagesList {
		texts = append(texts, m.Message)
	}
	return texts
}

func TestMaskedForEveryone(t *testing.T) {
	t.Parallel()
	addr := start(t)
	ann := join(t, addr, "r", "u-ann", "ann")
	bob := join(t, addr, "r", "u-bob", "bob")
	ann.say("well DARN it")
	for _, c := range []*client{ann, bob} {
		if got := c.nextMessages(); len(got) != 1 || got[0] != "well *** it" {
			t.Errorf("messages = %q, want the masked one", got)
		}
	}
}

func TestRejectedWithItsCode(t *testing.T) {
	t.Parallel()
	addr := start(t)
	ann := join(t, addr, "r", "u-ann", "ann")
	bob := join(t, addr, "r", "u-bob", "bob")
	ann.say("buy Spam now")
	f := ann.await(func(f frame) bool { return f.Event == "error" || f.Event == "messageWritten" })
	if f.Event != "error" || f.Code != CodeBannedWord || f.Ref != "writeMessage" {
		t.Fatalf("ann got %+v, want an error %s for writeMessage", f, CodeBannedWord)
	}
	// The refused message reached nobody: bob's next list holds only the
	// message after it.
	ann.say("sorry")
	for _, c := range []*client{ann, bob} {
		if got := c.nextMessages(); len(got) != 1 || got[0] != "sorry" {
			t.Errorf("messages = %q, want only the second message", got)
		}
	}
}

// TestMaskRevalidated shows why main validates again: a message at the
// length limit grows with its mask and is then refused.
func TestMaskRevalidated(t *testing.T) {
	t.Parallel()
	filter, err := Filter(map[string]Policy{"ok": Mask})
	if err != nil {
		t.Fatal(err)
	}
	chain := filter(middleware.Validate(middleware.Limits{Message: 4})(func(context.Context, *actions.Action) error { return nil }))
	err = chain(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r",
		Payload: actions.WriteMessage{Message: "ok o"}})
	if e := actions.AsError(err); e.Code != actions.CodeMessageTooLong {
		t.Errorf("err = %v, want %s", err, actions.CodeMessageTooLong)
	}
}

// TestRunStopsWithItsContext runs main's wiring until its context ends.
func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, server.Config{Transport: transport.Config{Addr: "127.0.0.1:0"}}, map[string]Policy{"darn": Mask})
	}()
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
	if err := run(context.Background(), server.Config{}, map[string]Policy{"two words": Mask}); err == nil {
		t.Error("run accepted a bad word list")
	}
}
