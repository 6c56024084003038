package transport_test

// The endpoint /chat[/room] of docs/protocol.md: which paths upgrade, and
// which room each names.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

func TestRoomPathsThatUpgrade(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	long := strings.Repeat("x", 64)
	for _, path := range []string{"/chat", "/chat/chat", "/chat/a-b_C9", "/chat/" + long, "/chat?room=x", "/chat/a-b_C9?room=chat"} {
		if got := dialStatus(t, s, path, nil); got != http.StatusSwitchingProtocols {
			t.Errorf("dial %s: HTTP %d, want 101", path, got)
		}
		if got := rawUpgrade(t, s, path, "", ""); got != http.StatusSwitchingProtocols {
			t.Errorf("upgrade %s: HTTP %d, want 101", path, got)
		}
	}
	// Each upgraded path is a working room.
	for i, path := range []string{"/chat/a-b_C9", "/chat/" + long} {
		c, _ := s.Join(t, path, fmt.Sprint("u", i), "ann")
		c.Say("hello " + path)
		expectMessage(t, c, "ann", "hello "+path)
	}
}

func TestRoomPathsRefusedBeforeUpgrade(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	for _, path := range []string{
		"/chat/",
		"/chat/a%20b",
		"/chat/a.b",
		"/chat/" + strings.Repeat("x", 65),
		"/chat/chat/",
		"/chat/a/b",
		"/chat/%61", // "a", but the name is checked before %-decoding
		"/chat/a%2Fb",
		"/chat/é",
		"/chat/a.b?room=chat",
		"/chat/?room=chat",
	} {
		if got := dialStatus(t, s, path, nil); got != http.StatusBadRequest {
			t.Errorf("dial %s: HTTP %d, want 400", path, got)
		}
		if got := rawUpgrade(t, s, path, "", ""); got != http.StatusBadRequest {
			t.Errorf("upgrade %s: HTTP %d, want 400", path, got)
		}
	}
	// The server is still fine.
	c, _ := s.Join(t, "/chat", "1", "ann")
	c.Say("still here")
	expectMessage(t, c, "ann", "still here")
}

// TestRoomPathNamesTheRoom: /chat and /chat/chat are one room, the query
// never matters, and other names are other rooms.
func TestRoomPathNamesTheRoom(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, hello := s.Join(t, "/chat/chat", "bob", "bob")
	if got := len(hello.List("connectedUserList")); got != 2 {
		t.Fatalf("/chat/chat sees %d users, want ann and bob: %v", got, hello)
	}
	if j := ann.Expect("joined"); j.Str("id") != "bob" {
		t.Fatalf("joined = %v, want bob", j)
	}
	cat, hello := s.Join(t, "/chat?room=other", "cat", "cat")
	if got := len(hello.List("connectedUserList")); got != 3 {
		t.Fatalf("/chat?room=other sees %d users, want 3 (room chat): %v", got, hello)
	}
	for _, c := range []*chattest.Client{ann, bob} {
		if j := c.Expect("joined"); j.Str("id") != "cat" {
			t.Fatalf("joined = %v, want cat", j)
		}
	}
	// Room other is empty and separate; its query cannot move it to chat.
	dan, hello := s.Join(t, "/chat/other?room=chat", "dan", "dan")
	if got := len(hello.List("connectedUserList")); got != 1 {
		t.Fatalf("room other sees %d users, want only dan: %v", got, hello)
	}
	dan.Say("in other")
	expectMessage(t, dan, "dan", "in other")
	cat.Say("in chat")
	for _, c := range []*chattest.Client{ann, bob, cat} {
		e := expectMessage(t, c, "cat", "in chat")
		if n := len(e.List("messagesList")); n != 1 {
			t.Fatalf("room chat has %d messages, want 1 (the other room's stay there)", n)
		}
	}
}
