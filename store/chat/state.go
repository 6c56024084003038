package chat

import (
	"sort"

	"github.com/benbjohnson/immutable"
	"github.com/statecast/statecast/actions"
)

// State is the whole chat state: every room by name. The zero State is an
// empty chat. A State never changes once made; Reduce returns new ones.
type State struct {
	rooms *immutable.Map[string, *Room]
	ids   *immutable.Map[string, identity]
}

// Room returns the named room, or nil if nothing ever happened in it.
func (s State) Room(name string) *Room {
	if s.rooms == nil {
		return nil
	}
	r, _ := s.rooms.Get(name)
	return r
}

// RoomNames returns the names of all rooms, sorted.
func (s State) RoomNames() []string {
	var names []string
	if s.rooms != nil {
		for it := s.rooms.Iterator(); !it.Done(); {
			name, _, _ := it.Next()
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func (s State) withRoom(r *Room) State {
	if s.rooms == nil {
		s.rooms = immutable.NewMap[string, *Room](nil)
	}
	s.rooms = s.rooms.Set(r.name, r)
	return s
}

// Room is one room's state. A *Room is never modified once a State holds it.
type Room struct {
	name     string
	messages *immutable.List[*actions.Message]
	users    *immutable.Map[string, Presence]
	sessions *immutable.Map[string, Session]
	// written maps the clientIds of the newest messages (user id, NUL,
	// clientId) to their seq; writtenOrder holds the same keys, oldest first,
	// so that the window can forget the oldest.
	written      *immutable.Map[string, uint64]
	writtenOrder *immutable.List[string]
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
}

// Session is one socket's connection status, as the seed's chatSlice holds it.
type Session struct {
	ID                       string `json:"id"`
	UserID                   string `json:"userId,omitempty"`
	Username                 string `json:"username,omitempty"`
	IsEstablishingConnection bool   `json:"isEstablishingConnection"`
	IsConnected              bool   `json:"isConnected"`
}

func newRoom(name string) *Room {
	return &Room{
		name:         name,
		messages:     immutable.NewList[*actions.Message](),
		users:        immutable.NewMap[string, Presence](nil),
		sessions:     immutable.NewMap[string, Session](nil),
		written:      immutable.NewMap[string, uint64](nil),
		writtenOrder: immutable.NewList[string](),
	}
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
func (r *Room) Message(i int) actions.Message { return *r.messages.Get(i) }

// Messages returns the retained messages, oldest first.
func (r *Room) Messages() []actions.Message {
	out := make([]actions.Message, 0, r.messages.Len())
	for it := r.messages.Iterator(); !it.Done(); {
		_, m := it.Next()
		out = append(out, *m)
	}
	return out
}

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
