package chat

import "github.com/statecast/statecast/actions"

// Diffs returns what a changed, as room diffs that are never empty.
//
// For an action of one room it is Diff's result, if anything visible
// changed. actions.TypeServerStart and actions.TypeNodeDown act on every
// room and may close many sockets and remove many users at once, which one
// RoomDiff cannot hold; for them Diffs returns, room by room in name order,
// one step per connected socket that closed (Closed, and Left when the
// socket's user left the user list with it), in socket id order, then one
// step per user who left without a socket closing (a grace period ended,
// Left only), in the order users entered. Sockets that closed while still
// establishing are invisible: they go with the room's first step.
//
// A room's steps chain: the first one's Prev is the room before the action,
// each next one's Prev is the Next of the one before, and the last one's
// Next is the room after the action. A consumer therefore handles each step
// as it handles the diff of a single action; a v2 patch, for instance,
// removes a step's Left at its index in that step's Prev.UserList().
// Several steps of a room all belong to the one action, at its seq.
func Diffs(prev, next State, a *actions.Action) []RoomDiff {
	if a.Type != actions.TypeServerStart && a.Type != actions.TypeNodeDown {
		if d := Diff(prev, next, a); !d.Empty() {
			return []RoomDiff{d}
		}
		return nil
	}
	var out []RoomDiff
	for _, name := range next.RoomNames() {
		before, after := prev.Room(name), next.Room(name)
		if before != nil && before != after {
			out = append(out, roomSteps(before, after)...)
		}
	}
	return out
}

// roomSteps splits the change from before to after, which only closed
// sockets and removed or updated users, into the steps Diffs describes.
func roomSteps(before, after *Room) []RoomDiff {
	var closed []Session
	var silent []string
	pending := map[string]int{} // a user's closed sockets not yet stepped through
	for _, sess := range before.sessionList() {
		if _, still := after.sessions.Get(sess.ID); still {
			continue
		}
		if sess.IsConnected {
			closed = append(closed, sess)
			pending[sess.UserID]++
		} else {
			silent = append(silent, sess.ID)
		}
	}
	var gone []Presence
	for _, p := range before.Presences() {
		if _, still := after.users.Get(p.User.ID); !still && pending[p.User.ID] == 0 {
			gone = append(gone, p)
		}
	}
	if len(closed)+len(gone) == 0 {
		return nil
	}
	steps := make([]RoomDiff, 0, len(closed)+len(gone))
	cur := before
	// step starts the next step from cur: a clone that the caller changes.
	step := func() *Room {
		r := cur.clone()
		if len(steps) == 0 {
			for _, id := range silent {
				r.sessions = r.sessions.Delete(id)
			}
		}
		return r
	}
	for _, sess := range closed {
		r := step()
		r.sessions = r.sessions.Delete(sess.ID)
		d := RoomDiff{Prev: cur, Next: r, Closed: &sess}
		user := sess.UserID
		p, listed := cur.users.Get(user)
		switch pending[user]--; {
		case !listed:
		case pending[user] > 0:
			p.Sockets--
			r.users = r.users.Set(user, p)
		default:
			if last, stays := after.users.Get(user); stays {
				r.users = r.users.Set(user, last)
			} else {
				r.users = r.users.Delete(user)
				d.Left = &p.User
			}
		}
		steps = append(steps, d)
		cur = r
	}
	for _, p := range gone {
		r := step()
		r.users = r.users.Delete(p.User.ID)
		steps = append(steps, RoomDiff{Prev: cur, Next: r, Left: &p.User})
		cur = r
	}
	steps[len(steps)-1].Next = after
	return steps
}
