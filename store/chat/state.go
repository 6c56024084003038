package chat

import (
	"sort"

	"github.com/statecast/statecast/actions"
)

// State is the whole chat state: every room by name. The zero State is an
// empty chat. A State never changes once made; Reduce returns new ones.
type State struct {
	rooms hashMap[*Room]
	ids   boxedMap[identity]
}

// Room returns the named room, or nil if nothing ever happened in it.
func (s State) Room(name string) *Room {
	r, _ := s.rooms.Get(name)
	return r
}

// RoomNames returns the names of all rooms, sorted.
func (s State) RoomNames() []string {
	var names []string
	for name := range s.rooms.All() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (s State) withRoom(r *Room) State {
	s.rooms = s.rooms.Set(r.name, r)
	return s
}

// roomKey is a room's name and its hash, for the lookups of one action:
// hashing the name once instead of at each.
type roomKey struct {
	name string
	hash uint64
}

func keyOf(name string) roomKey { return roomKey{name, hashKey(name)} }

// roomAt is Room for a key.
func (s State) roomAt(k roomKey) *Room {
	r, _ := s.rooms.get(k.name, k.hash)
	return r
}

// withRoomAt is withRoom for r, the room named k.name.
func (s State) withRoomAt(k roomKey, r *Room) State {
	s.rooms = s.rooms.put(k.name, r, k.hash, 0, hashKey)
	return s
}

// Room is one room's state. A *Room is never modified once a State holds it.
type Room struct {
	name     string
	messages messageWindow
	users    boxedMap[Presence]
	sessions boxedMap[Session]
	// written remembers the clientIds of the newest messages (keyed by
	// writtenKey) and their seqs, so that a re-sent write is applied once.
	written clientIDWindow
}

// Presence is a user's entry in a room's user list.
type Presence struct {
	// User is the id and the name the user entered the room with.
	User actions.User `json:"user"`
	// Entered is the seq of the action that put the user in the list.
	Entered uint64 `json:"entered"`
	// Sockets counts the user's connected sockets in the room.
	Sockets int `json:"sockets"`
	// LeftAt is the seq of the action that closed the user's last socket, or
	// 0 while the user has one. A user with LeftAt set is in its grace period.
	LeftAt uint64 `json:"leftAt,omitempty"`
	// LeftOn is the node that held the user's last socket while the user
	// is in its grace period: the node whose timer ends it, and whose
	// TypeNodeDown ends it at once. "" while the user has a socket, and on
	// a single-node server.
	LeftOn string `json:"leftOn,omitempty"`
}

// Session is one socket's connection status, as the seed's chatSlice holds
// it, and the node that holds the socket.
type Session struct {
	// ID is the socket's id, as in actions.Action.Session.
	ID string `json:"id"`
	// UserID is the id the socket got when it connected.
	UserID string `json:"userId,omitempty"`
	// Username is the name the socket connected with.
	Username string `json:"username,omitempty"`
	// IsEstablishingConnection is set from the socket's open until it
	// connects.
	IsEstablishingConnection bool `json:"isEstablishingConnection"`
	// IsConnected is set once the socket has connected.
	IsConnected bool `json:"isConnected"`
	// Node is the cluster node that holds the socket (actions.Open); ""
	// on a single-node server.
	Node string `json:"node,omitempty"`
}

func newRoom(name string) *Room {
	return &Room{name: name}
}

// Written returns the seq of the message that user wrote in this room with
// clientID, if the room still remembers it.
func (r *Room) Written(user, clientID string) (uint64, bool) {
	return r.written.Get(writtenKey(user, clientID))
}

func writtenKey(user, clientID string) string { return user + "\x00" + clientID }

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// MessageCount returns how many messages the room retains.
func (r *Room) MessageCount() int { return r.messages.Len() }

// Message returns the i-th retained message, oldest first.
func (r *Room) Message(i int) actions.Message { return r.messages.At(i) }

// Messages returns a copy of the retained messages, oldest first (an
// empty slice, not nil, if there are none).
func (r *Room) Messages() []actions.Message { return r.messages.All() }

// Presence returns the user-list entry of id.
func (r *Room) Presence(id string) (Presence, bool) { return r.users.Get(id) }

// UserList returns the room's user list in the order users entered it: each
// id once, including users inside their grace period.
func (r *Room) UserList() []actions.User {
	entries := r.Presences()
	users := make([]actions.User, len(entries))
	for i, p := range entries {
		users[i] = p.User
	}
	return users
}

// Session returns the status of the socket with the given id.
func (r *Room) Session(id string) (Session, bool) { return r.sessions.Get(id) }

// SessionCount returns how many sockets of the room are open.
func (r *Room) SessionCount() int { return r.sessions.Len() }

func (r *Room) clone() *Room {
	c := *r
	return &c
}
