package main

import (
	"testing"
)

func TestSmokeChat(t *testing.T) {
	s := startServer(t)
	ann, hello := s.join("/chat", "1", "ann")
	if got := len(hello.list("connectedUserList")); got != 1 {
		t.Fatalf("connectedUserList has %d users, want 1: %v", got, hello)
	}
	bob, _ := s.join("/chat", "2", "bob")
	if j := ann.expect("joined"); j.str("id") != "2" || j.str("username") != "bob" {
		t.Fatalf("joined = %v", j)
	}
	bob.send(map[string]any{"event": "writeMessage", "message": "hi", "username": "mallory"})
	for _, c := range []*client{ann, bob} {
		w := c.expect("messageWritten")
		msgs := w.list("messagesList")
		if len(msgs) != 1 || msgs[0].(map[string]any)["username"] != "bob" {
			t.Fatalf("messageWritten = %v", w)
		}
	}
}
