package transport

import (
	"net/url"
	"strings"
	"testing"
)

// TestRoomFromPath checks the room rule on the raw (escaped) path: /chat is
// the default room, /chat/{room} names a room of 1 to 64 characters of
// [A-Za-z0-9_-], checked before any %-decoding.
func TestRoomFromPath(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	tests := []struct {
		path string
		room string // "" means refused
	}{
		{"/chat", "chat"},
		{"/chat/chat", "chat"},
		{"/chat/a", "a"},
		{"/chat/a-b_C9", "a-b_C9"},
		{"/chat/-", "-"},
		{"/chat/_", "_"},
		{"/chat/ABCxyz0189", "ABCxyz0189"},
		{"/chat/" + long64, long64},
		{"/chat/" + strings.Repeat("Z9_-", 16), strings.Repeat("Z9_-", 16)},

		{"/chat/", ""},
		{"/chat/" + long64 + "a", ""},
		{"/chat/a%20b", ""},
		{"/chat/a%2Fb", ""},
		{"/chat/%61", ""}, // %61 is "a": checked before decoding
		{"/chat/a.b", ""},
		{"/chat/..", ""},
		{"/chat/a b", ""},
		{"/chat/a+b", ""},
		{"/chat/a~b", ""},
		{"/chat/é", ""},
		{"/chat/%C3%A9", ""},
		{"/chat/chat/", ""},
		{"/chat/a/b", ""},
		{"/chat//a", ""},
		{"/chat/a/", ""},
		{"/chat?x", ""}, // not a path: the query is never part of it
		{"/chats", ""},
		{"/chatroom", ""},
		{"/Chat", ""},
		{"/chat.json", ""},
		{"/", ""},
		{"", ""},
		{"/other/chat", ""},
	}
	for _, tt := range tests {
		room, ok := roomFromPath(tt.path)
		if ok != (tt.room != "") || room != tt.room {
			t.Errorf("roomFromPath(%q) = %q, %v; want %q, %v", tt.path, room, ok, tt.room, tt.room != "")
		}
	}
}

// TestRoomFromRequestURI checks what serveChat passes to roomFromPath: the
// escaped path of a parsed request URI, without the query string.
func TestRoomFromRequestURI(t *testing.T) {
	tests := []struct {
		uri  string
		room string
	}{
		{"/chat?room=x", "chat"},
		{"/chat?room=other&x=1", "chat"},
		{"/chat/abc?room=chat", "abc"},
		{"/chat/abc?", "abc"},
		{"/chat/a%20b?room=chat", ""},
		{"/chat/%61", ""},
		{"/chat/a%2Fb", ""},
		{"/chat/chat/?room=chat", ""},
	}
	for _, tt := range tests {
		u, err := url.ParseRequestURI(tt.uri)
		if err != nil {
			t.Fatalf("%s: %v", tt.uri, err)
		}
		room, ok := roomFromPath(u.EscapedPath())
		if ok != (tt.room != "") || room != tt.room {
			t.Errorf("request %q: room %q, %v; want %q, %v", tt.uri, room, ok, tt.room, tt.room != "")
		}
	}
}
