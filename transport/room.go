package transport

import (
	"strings"

	"github.com/statecast/statecast/actions"
)

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
	if !ok || !actions.ValidRoom(name) {
		return "", false
	}
	return name, true
}
