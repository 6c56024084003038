package inspect

import (
	"encoding/json"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// RoomView is a room's state as the API shows it: its users with their
// socket counts and grace periods, its sockets and its retained messages.
type RoomView struct {
	Name     string            `json:"name"`
	Users    []chat.Presence   `json:"users"`
	Sessions []chat.Session    `json:"sessions"`
	Messages []actions.Message `json:"messages"`
}

// roomViews returns the rooms of s, or only the room named room, by name.
// It reads them from the state's canonical encoding (chat.Codec), which
// lists every socket.
func roomViews(s chat.State, room string) ([]RoomView, error) {
	data, err := chat.Codec{}.Encode(s)
	if err != nil {
		return nil, err
	}
	var snap struct {
		Rooms []RoomView `json:"rooms"`
	}
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, err
	}
	out := []RoomView{}
	for _, r := range snap.Rooms {
		if room == "" || r.Name == room {
			out = append(out, r)
		}
	}
	return out, nil
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
