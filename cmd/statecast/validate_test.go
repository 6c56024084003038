package main

import (
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestValidateLimitsEndToEnd: each limit of the Validate middleware gets
// its own error code on the real server, the offending socket stays open,
// and the other clients see nothing of the refused action.
func TestValidateLimitsEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-max-message", "10", "-rate", "0", "-rate-per-address", "0")
	ann, _ := s.join("/chat", "ann", "ann")
	bob, _ := s.join("/chat", "bob", "bob")
	ann.expect("joined")

	bob.epSay(strings.Repeat("ж", 11))
	if e := bob.epExpectError("message_too_long"); e.str("ref") != "writeMessage" {
		t.Fatalf("ref = %q, want writeMessage", e.str("ref"))
	}
	bob.send(map[string]any{"event": "writeMessage", "message": "ok", "clientId": strings.Repeat("c", 129)})
	bob.epExpectError("client_id_too_long")
	bob.sendRaw(websocket.MessageText, []byte("{\"event\":\"writeMessage\",\"message\":\"\xff\"}"))
	bob.epExpectError("invalid_utf8")

	// The socket still works, and ann's next frame is bob's good message:
	// none of the refused ones reached her.
	bob.epSay(strings.Repeat("ж", 10))
	for _, c := range []*client{ann, bob} {
		if e := c.epExpectMessage("bob", strings.Repeat("ж", 10)); len(e.list("messagesList")) != 1 {
			t.Fatalf("history = %v, want only the good message", e.list("messagesList"))
		}
	}

	long := s.dial("/chat")
	long.send(map[string]any{"event": "connecting", "id": strings.Repeat("1", 129), "username": "cat"})
	if e := long.epExpectError("id_too_long"); e.str("ref") != "connecting" {
		t.Fatalf("ref = %q, want connecting", e.str("ref"))
	}
	long.send(map[string]any{"event": "connecting", "id": "cat", "username": "cat"})
	long.expect("connected")
	if j := ann.expect("joined"); j.str("id") != "cat" {
		t.Fatalf("ann saw %v, want cat joining (and nothing of the refused id)", j)
	}
}
