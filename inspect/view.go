package inspect

import (
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// RoomView is a room's state as the API shows it: its users, each with
// its count of open sockets and, in a grace period, the seq that began it,
// and its retained messages.
type RoomView struct {
	Name     string            `json:"name"`
	Users    []chat.Presence   `json:"users"`
	Sockets  int               `json:"sockets"`
	Messages []actions.Message `json:"messages"`
}

// roomViews returns the rooms of s, or only the room named room, by name.
// A room costs what it holds, whatever the size of the rest of the state.
func roomViews(s chat.State, room string) []RoomView {
	names := []string{room}
	if room == "" {
		names = s.RoomNames()
	}
	out := []RoomView{}
	for _, name := range names {
		if r := s.Room(name); r != nil {
			out = append(out, RoomView{Name: name, Users: r.Presences(), Sockets: r.SessionCount(), Messages: r.Messages()})
		}
	}
	return out
}

// DiffView is one chat.RoomDiff: what an action changed in one room.
type DiffView struct {
	Room      string            `json:"room"`
	Entered   *actions.User     `json:"entered,omitempty"`
	Left      *actions.User     `json:"left,omitempty"`
	Connected *chat.Session     `json:"connected,omitempty"`
	Closed    *chat.Session     `json:"closed,omitempty"`
	Appended  []actions.Message `json:"appended,omitempty"`
	Dropped   int               `json:"dropped,omitempty"`
}

func diffViews(ds []chat.RoomDiff) []DiffView {
	out := []DiffView{}
	for _, d := range ds {
		out = append(out, DiffView{Room: d.Next.Name(), Entered: d.Entered, Left: d.Left, Connected: d.Connected,
			Closed: d.Closed, Appended: d.Appended, Dropped: d.Dropped})
	}
	return out
}
