package transport

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// TestStalledPeerIsDropped: a peer that stops reading, with queues large
// enough never to fill, is dropped once a write to it has taken longer
// than WriteTimeout, and its close reaches the state.
func TestStalledPeerIsDropped(t *testing.T) {
	t.Parallel()
	st := store.New(chat.State{}, chat.NewReducer(chat.Options{History: 50}))
	defer st.Close()
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", WriteTimeout: 300 * time.Millisecond,
		SendQueue: 1 << 20, SendQueueBytes: 1 << 30}, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	join := func(id string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws://"+srv.Addr().String()+"/chat", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(-1)
		hello, _ := json.Marshal(map[string]string{"event": "connecting", "id": id, "username": id})
		if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil { // connected
			t.Fatal(err)
		}
		return c
	}
	stalled := join("stalled")
	defer stalled.CloseNow()
	writer := join("writer")
	defer writer.CloseNow()
	go func() { // the writer reads everything it gets
		for {
			if _, _, err := writer.Read(ctx); err != nil {
				return
			}
		}
	}()
	sessions := func() int { return st.GetState().Room("chat").SessionCount() }
	big, _ := json.Marshal(map[string]string{"event": "writeMessage", "message": strings.Repeat("x", 60_000)})
	// Each messageWritten carries up to 50 such messages: the stalled
	// peer's socket buffers fill within a few of them.
	for i := 0; sessions() == 2; i++ {
		if i == 2000 {
			t.Fatal("the stalled peer was never dropped")
		}
		if err := writer.Write(ctx, websocket.MessageText, big); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok := st.GetState().Room("chat").Presence("writer"); !ok {
		t.Fatal("the writer's session went too")
	}
}
