package transport

import (
	"slices"

	"github.com/statecast/statecast/actions"
)

// userList is a room's user list as the hub keeps it for v1's `connected`:
// each user encoded once (actions.EncodeUser), in the order they entered,
// as the state's Room.UserList orders them. A connect into a room of n
// users then costs a copy of their bytes, not a sort and an encoding of
// n users. It follows the room's diffs: an entered user goes last (its
// entry is the newest), a user that left goes out.
type userList struct {
	ids     []string
	encoded [][]byte
}

func newUserList(users []actions.User) userList {
	l := userList{ids: make([]string, 0, len(users)), encoded: make([][]byte, 0, len(users))}
	for _, u := range users {
		l.enter(u)
	}
	return l
}

// enter adds u, who entered the room, at the end.
func (l *userList) enter(u actions.User) {
	l.ids = append(l.ids, u.ID)
	l.encoded = append(l.encoded, actions.EncodeUser(u))
}

// leave removes the user with the given id.
func (l *userList) leave(id string) {
	if i := slices.Index(l.ids, id); i >= 0 {
		l.ids = slices.Delete(l.ids, i, i+1)
		l.encoded = slices.Delete(l.encoded, i, i+1)
	}
}

// list returns the encoded users, in the order they entered.
func (l *userList) list() [][]byte { return l.encoded }
