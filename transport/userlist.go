package transport

import (
	"slices"

	"github.com/statecast/statecast/actions"
)

// userList is a room's user list as the hub keeps it for greeting new
// sockets (v1's `connected`, v2's snapshot): in the order the users
// entered, as the state's Room.UserList orders them, and each user also
// encoded once (actions.EncodeUser). A connect into a room of n users then
// costs a copy of their bytes, not a sort and an encoding of n users. It
// follows the room's diffs: an entered user goes last (its entry is the
// newest), a user that left goes out.
type userList struct {
	users   []actions.User
	encoded [][]byte // aligned with users
}

func newUserList(users []actions.User) userList {
	l := userList{users: make([]actions.User, 0, len(users)), encoded: make([][]byte, 0, len(users))}
	for _, u := range users {
		l.enter(u)
	}
	return l
}

// enter adds u, who entered the room, at the end.
func (l *userList) enter(u actions.User) {
	l.users = append(l.users, u)
	l.encoded = append(l.encoded, actions.EncodeUser(u))
}

// leave removes the user with the given id.
func (l *userList) leave(id string) {
	if i := slices.IndexFunc(l.users, func(u actions.User) bool { return u.ID == id }); i >= 0 {
		l.users = slices.Delete(l.users, i, i+1)
		l.encoded = slices.Delete(l.encoded, i, i+1)
	}
}

// list returns the users, in the order they entered.
func (l *userList) list() []actions.User { return l.users }

// listEncoded returns the encoded users, in the order they entered.
func (l *userList) listEncoded() [][]byte { return l.encoded }
