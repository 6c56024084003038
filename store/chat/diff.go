package chat

import "github.com/statecast/statecast/actions"

// RoomDiff is what one action changed in one room, derived from the room's
// states before and after it, or one step of what an action of every room
// changed there (see Diffs). The subscriber layer turns it into wire
// events; it never looks at the incoming frame.
type RoomDiff struct {
	// Prev and Next are the room before and after; Prev may be nil.
	Prev, Next *Room
	// Entered holds a user id that entered the user list.
	Entered *actions.User
	// Left holds a user id that left the user list.
	Left *actions.User
	// Connected holds a session that became connected.
	Connected *Session
	// Closed holds a connected session that closed.
	Closed *Session
	// Appended holds the messages added to the window, oldest first: a
	// slice of the diff's own, whose strings share the state's storage.
	Appended []actions.Message
	// Dropped counts messages that fell off the front of the window.
	Dropped int
}

// Empty reports whether nothing visible changed.
func (d RoomDiff) Empty() bool {
	return d.Entered == nil && d.Left == nil && d.Connected == nil && d.Closed == nil && len(d.Appended) == 0 && d.Dropped == 0
}

// Diff compares the room named by a in prev and next. Only the entries an
// action can touch are compared (the session a.Session, the user a.User or
// the session's user, the message window's ends), so a diff costs O(log n),
// not O(room): the reducer changes nothing else, and the tests hold it to that.
//
// Diff is for the actions of one room. Actions of every room
// (actions.TypeServerStart, actions.TypeNodeDown) have no room and change
// more than one RoomDiff holds: Diffs gives their changes.
func Diff(prev, next State, a *actions.Action) RoomDiff {
	k := keyOf(a.Room)
	d := RoomDiff{Prev: prev.roomAt(k), Next: next.roomAt(k)}
	if d.Prev == d.Next || d.Next == nil {
		return d
	}
	if d.Prev == nil {
		d.Prev = newRoom(a.Room)
	}
	// The reducer keeps the maps it does not change, so the same maps hold
	// the same entries: a message write changes neither sessions nor users.
	if !d.Prev.sessions.Same(d.Next.sessions) || !d.Prev.users.Same(d.Next.users) {
		before, _ := d.Prev.Session(a.Session)
		after, ok := d.Next.Session(a.Session)
		diffSession(&d, before, after, ok)
		// A socket's user is the one the state gave it, which for a connect
		// may differ from the id the action claims.
		user := a.User
		if before.UserID != "" {
			user = before.UserID
		} else if after.UserID != "" {
			user = after.UserID
		}
		diffUser(&d, user)
	}
	diffMessages(&d)
	return d
}

// diffSession compares a session before and after (is: whether it exists
// after; a zero before is a session that did not exist).
func diffSession(d *RoomDiff, before, after Session, is bool) {
	switch {
	case is && after.IsConnected && !before.IsConnected:
		d.Connected = &after
	case !is && before.IsConnected:
		d.Closed = &before
	}
}

func diffUser(d *RoomDiff, id string) {
	if id == "" {
		return
	}
	before, was := d.Prev.Presence(id)
	after, is := d.Next.Presence(id)
	switch {
	case is && !was:
		d.Entered = &after.User
	case was && !is:
		d.Left = &before.User
	}
}

// diffMessages finds the window's change by seq: messages are appended with
// growing seqs and dropped only from the front.
func diffMessages(d *RoomDiff) {
	prev, next := &d.Prev.messages, &d.Next.messages
	if prev.Same(*next) {
		return
	}
	i := next.appendedSince(prev.lastSeq())
	if i < next.Len() {
		d.Appended = next.from(i)
	}
	d.Dropped = prev.Len() - i
}
