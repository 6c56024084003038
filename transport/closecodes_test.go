package transport_test

// Close codes of docs/protocol.md: 1003 for binary frames, 1009 for frames
// over the limit.

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

func TestBinaryFrameCloses1003(t *testing.T) {
	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond})
	// Before connecting.
	c := s.Dial(t, "/chat")
	c.SendRaw(websocket.MessageBinary, []byte(`{"event":"connecting","id":"1","username":"ann"}`))
	c.ExpectClose(websocket.StatusUnsupportedData)

	// After connecting; the room is told the user left, and keeps working.
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")
	bob.SendRaw(websocket.MessageBinary, []byte{0, 1, 2})
	bob.ExpectClose(websocket.StatusUnsupportedData)
	if d := ann.Expect("disconnected"); d.Str("id") != "bob" {
		t.Fatalf("disconnected = %v, want bob", d)
	}
	ann.Say("after")
	expectMessage(t, ann, "ann", "after")
}

func TestFrameLimitDefault64KiB(t *testing.T) {
	// The message limit is raised above the frame's, so that the frame
	// limit is what this test meets.
	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond, Limits: middleware.Limits{Message: 70000}})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")

	// Exactly 64 KiB is allowed: a message of 64 KiB of frame.
	frame := []byte(`{"event":"writeMessage","message":"`)
	text := strings.Repeat("a", 64<<10-len(frame)-2)
	frame = append(append(frame, text...), `"}`...)
	if len(frame) != 64<<10 {
		t.Fatalf("frame is %d bytes", len(frame))
	}
	bob.SendRaw(websocket.MessageText, frame)
	for _, c := range []*chattest.Client{ann, bob} {
		expectMessage(t, c, "bob", text)
	}
	// One byte more closes the socket with 1009; nobody gets the message.
	big := append([]byte(`{"event":"writeMessage","message":"b`), frame[len(`{"event":"writeMessage","message":"`):]...)
	if len(big) != 64<<10+1 {
		t.Fatalf("frame is %d bytes", len(big))
	}
	bob.SendRaw(websocket.MessageText, big)
	bob.ExpectClose(websocket.StatusMessageTooBig)
	ann.Expect("disconnected")
	ann.Say("next")
	e := expectMessage(t, ann, "ann", "next")
	if n := len(e.List("messagesList")); n != 2 {
		t.Fatalf("history has %d messages, want 2 (the too big one was not stored)", n)
	}
}

func TestFrameLimitConfigured(t *testing.T) {
	s := chattest.Start(t, server.Config{Transport: transport.Config{FrameLimit: 1024}})
	ann, _ := s.Join(t, "/chat", "ann", "ann")

	ok := append([]byte(`{"event":"nope"}`), bytes.Repeat([]byte(" "), 1024-16)...)
	ann.SendRaw(websocket.MessageText, ok)
	expectErrorCode(t, ann, "unknown_event")

	ann.Say(strings.Repeat("x", 2048))
	ann.ExpectClose(websocket.StatusMessageTooBig)

	// Also before connecting, with a frame that is not even JSON.
	c := s.Dial(t, "/chat")
	c.SendRaw(websocket.MessageText, bytes.Repeat([]byte("!"), 2048))
	c.ExpectClose(websocket.StatusMessageTooBig)
}

// TestHugeMessageRefused: the seed stored a 2 MiB message and sent it to
// everyone; statecast's frame limit closes the sender with 1009 and nobody
// receives it.
func TestHugeMessageRefused(t *testing.T) {
	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	mal, _ := s.Join(t, "/chat", "mal", "mal")
	ann.Expect("joined")

	b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": strings.Repeat("x", 2<<20)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The server may drop the connection before it has read the whole
	// frame, so the write itself may fail; the close code is what counts.
	_ = mal.Conn().Write(ctx, websocket.MessageText, b)
	if st := mal.CloseStatus(); st != websocket.StatusMessageTooBig {
		t.Fatalf("2 MiB message: socket closed with %d, want 1009", st)
	}
	// The next thing ann hears is mal leaving, then her own message, with
	// a history that never held the big one.
	if d := ann.Expect("disconnected"); d.Str("id") != "mal" {
		t.Fatalf("disconnected = %v, want mal", d)
	}
	ann.Say("small")
	if e := expectMessage(t, ann, "ann", "small"); len(e.List("messagesList")) != 1 {
		t.Fatalf("history = %v, want only ann's message", e.List("messagesList"))
	}
	_, hello := s.Join(t, "/chat", "cat", "cat")
	if l := hello.List("messagesList"); len(l) != 1 {
		t.Fatalf("new client's history = %v, want only ann's message", l)
	}
}

// TestGracefulShutdownFlushesQueues: frames still waiting in the server's
// queue for a socket that lags behind are all written before its 1001.
