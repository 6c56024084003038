package whatif

import (
	"fmt"
	"slices"
	"strings"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// RoomDifference is how one room's final state differs between the
// recording and the what-if replay. Messages are matched by their ID.
type RoomDifference struct {
	Room string `json:"room"`
	// OnlyRecorded and OnlyNow are the messages one side retains and the
	// other does not.
	OnlyRecorded []actions.Message `json:"onlyRecorded,omitempty"`
	OnlyNow      []actions.Message `json:"onlyNow,omitempty"`
	// Changed holds the messages both retain with another text or name:
	// the recorded one, then the one the replay made.
	Changed [][2]actions.Message `json:"changed,omitempty"`
	// UsersRecorded and UsersNow are the user lists' ids, when they differ.
	UsersRecorded []string `json:"usersRecorded,omitempty"`
	UsersNow      []string `json:"usersNow,omitempty"`
}

// compareStates returns the rooms that differ between recorded and now,
// by name.
func compareStates(recorded, now chat.State) []RoomDifference {
	names := append(recorded.RoomNames(), now.RoomNames()...)
	slices.Sort(names)
	var out []RoomDifference
	for _, name := range slices.Compact(names) {
		if d := compareRooms(name, recorded.Room(name), now.Room(name)); d != nil {
			out = append(out, *d)
		}
	}
	return out
}

func compareRooms(name string, rec, now *chat.Room) *RoomDifference {
	d := &RoomDifference{Room: name}
	recMsgs, nowMsgs := messagesOf(rec), messagesOf(now)
	byID := map[string]actions.Message{}
	for _, m := range nowMsgs {
		byID[m.ID] = m
	}
	seen := map[string]bool{}
	for _, m := range recMsgs {
		seen[m.ID] = true
		n, ok := byID[m.ID]
		switch {
		case !ok:
			d.OnlyRecorded = append(d.OnlyRecorded, m)
		case n.Message != m.Message || n.Username != m.Username || n.UserID != m.UserID:
			d.Changed = append(d.Changed, [2]actions.Message{m, n})
		}
	}
	for _, m := range nowMsgs {
		if !seen[m.ID] {
			d.OnlyNow = append(d.OnlyNow, m)
		}
	}
	if ru, nu := usersOf(rec), usersOf(now); !slices.Equal(ru, nu) {
		d.UsersRecorded, d.UsersNow = ru, nu
	}
	if d.OnlyRecorded == nil && d.OnlyNow == nil && d.Changed == nil && d.UsersRecorded == nil && d.UsersNow == nil {
		return nil
	}
	return d
}

func messagesOf(r *chat.Room) []actions.Message {
	if r == nil {
		return nil
	}
	return r.Messages()
}

func usersOf(r *chat.Room) []string {
	if r == nil {
		return nil
	}
	var ids []string
	for _, u := range r.UserList() {
		ids = append(ids, u.ID)
	}
	return ids
}

func (d RoomDifference) print(b *strings.Builder) {
	fmt.Fprintf(b, "  room %s:\n", d.Room)
	for _, m := range d.OnlyRecorded {
		fmt.Fprintf(b, "    only recorded: seq %d %s: %q\n", m.Seq, m.Username, m.Message)
	}
	for _, m := range d.OnlyNow {
		fmt.Fprintf(b, "    only now:      seq %d %s: %q\n", m.Seq, m.Username, m.Message)
	}
	for _, c := range d.Changed {
		fmt.Fprintf(b, "    changed:       seq %d %s: %q, now %q\n", c[0].Seq, c[0].Username, c[0].Message, c[1].Message)
	}
	if d.UsersRecorded != nil || d.UsersNow != nil {
		fmt.Fprintf(b, "    users recorded %v, now %v\n", d.UsersRecorded, d.UsersNow)
	}
}
