package server_test

import (
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
)

// TestValidateLimitsEndToEnd: each limit of the Validate middleware gets
// its own error code on the real server, the offending socket stays open,
// and the other clients see nothing of the refused action.
func TestValidateLimitsEndToEnd(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Limits: middleware.Limits{Message: 10}, RateLimit: unlimited})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")

	bob.Say(strings.Repeat("ж", 11))
	if e := expectCode(t, bob, "message_too_long"); e.Str("ref") != "writeMessage" {
		t.Fatalf("ref = %q, want writeMessage", e.Str("ref"))
	}
	bob.SayID("ok", strings.Repeat("c", 129))
	expectCode(t, bob, "client_id_too_long")
	bob.SendRaw(websocket.MessageText, []byte("{\"event\":\"writeMessage\",\"message\":\"\xff\"}"))
	expectCode(t, bob, "invalid_utf8")

	// The socket still works, and ann's next frame is bob's good message:
	// none of the refused ones reached her.
	bob.Say(strings.Repeat("ж", 10))
	for _, c := range []*chattest.Client{ann, bob} {
		if msgs := expectMessage(t, c, "bob", strings.Repeat("ж", 10)); len(msgs) != 1 {
			t.Fatalf("history = %v, want only the good message", msgs)
		}
	}

	long := s.Dial(t, "/chat")
	long.Send(chattest.Connecting(map[string]any{"id": strings.Repeat("1", 129), "username": "cat"}))
	if e := expectCode(t, long, "id_too_long"); e.Str("ref") != "connecting" {
		t.Fatalf("ref = %q, want connecting", e.Str("ref"))
	}
	long.Send(chattest.Connecting(map[string]any{"id": "cat", "username": "cat"}))
	long.Expect("connected")
	if j := ann.Expect("joined"); j.Str("id") != "cat" {
		t.Fatalf("ann saw %v, want cat joining (and nothing of the refused id)", j)
	}
}

// expectCode reads the next frame, which must be an error with code.
func expectCode(t *testing.T, c *chattest.Client, code string) chattest.Event {
	t.Helper()
	e := c.Expect("error")
	if e.Str("code") != code {
		t.Fatalf("error = %v, want code %s", e, code)
	}
	return e
}
