package transport

import "strings"

// DefaultRoom is the room of the bare /chat endpoint.
const DefaultRoom = "chat"

// roomFromPath returns the room an escaped request path names: /chat is
// DefaultRoom, /chat/{room} is {room}. The name is checked before any
// %-decoding against [A-Za-z0-9_-]{1,64}.
func roomFromPath(escaped string) (string, bool) {
	if escaped == "/chat" {
		return DefaultRoom, true
	}
	name, ok := strings.CutPrefix(escaped, "/chat/")
	if !ok || !validRoom(name) {
		return "", false
	}
	return name, true
}

func validRoom(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
