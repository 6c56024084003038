// Package chattest is the WebSocket client the examples' end-to-end tests
// share: it joins a room, writes frames and waits for the ones it expects.
package chattest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
)

// Frame is one server event, with the fields the tests read.
type Frame struct {
	Event        string            `json:"event"`
	Code         string            `json:"code"`
	Ref          string            `json:"ref"`
	MessagesList []actions.Message `json:"messagesList"`
}

// Client is a v1 WebSocket client of a test server.
type Client struct {
	t    *testing.T
	conn *websocket.Conn
}

// Join connects a client to room on the server at addr as id/username and
// waits for its `connected`. The socket closes when the test ends.
func Join(t *testing.T, addr, room, id, username string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/chat/"+room, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &Client{t: t, conn: conn}
	c.Write(map[string]string{"event": "connecting", "id": id, "username": username})
	c.Await(func(f Frame) bool { return f.Event == "connected" })
	return c
}

// Say writes a chat message.
func (c *Client) Say(text string) {
	c.t.Helper()
	c.Write(map[string]string{"event": "writeMessage", "message": text})
}

// Write sends v as one JSON text frame.
func (c *Client) Write(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// Await reads frames until one matches, for at most 5s.
func (c *Client) Await(match func(Frame) bool) Frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for a frame: %v", err)
		}
		var f Frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.t.Fatalf("frame %q: %v", b, err)
		}
		if match(f) {
			return f
		}
	}
}
