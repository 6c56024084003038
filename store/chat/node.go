package chat

import (
	"slices"

	"github.com/statecast/statecast/actions"
)

// nodeDown applies actions.TypeNodeDown: in every room, the sockets of
// the node close, and the users it leaves without a socket leave the user
// list at once, as do the users in a grace period the node was keeping.
// Each user who leaves a room counts as leaving it, as after an expiry
// (leftRoom). A node that holds nothing changes nothing: s comes back as it
// is, so a repeat is a no-op.
func nodeDown(s State, a *actions.Action) State {
	node := nodeOf(a)
	if node == "" {
		return s
	}
	for _, name := range s.RoomNames() {
		r := s.Room(name)
		next, left := roomNodeDown(r, node)
		if next == r {
			continue
		}
		for _, id := range left {
			s = s.leftRoom(id)
		}
		s = s.withRoom(next)
	}
	return s
}

func nodeOf(a *actions.Action) string {
	d, _ := a.Payload.(actions.NodeDown)
	return d.Node
}

// roomNodeDown returns r without node's sockets and grace entries, and the
// ids of the users that left; r itself if node held nothing in it.
func roomNodeDown(r *Room, node string) (*Room, []string) {
	next := r
	var left []string
	for id, sess := range r.sessions.All() {
		if sess.Node != node {
			continue
		}
		if next == r {
			next = r.clone()
		}
		next.sessions = next.sessions.Delete(id)
		if !sess.IsConnected {
			continue
		}
		p, ok := next.users.Get(sess.UserID)
		if !ok {
			continue
		}
		if p.Sockets--; p.Sockets > 0 {
			next.users = next.users.Set(sess.UserID, p)
			continue
		}
		next.users = next.users.Delete(sess.UserID)
		left = append(left, sess.UserID)
	}
	// Users who were in grace before: the loop above only removed users
	// who had a socket.
	for id, p := range r.users.All() {
		if p.Sockets == 0 && p.LeftOn == node {
			if next == r {
				next = r.clone()
			}
			next.users = next.users.Delete(id)
			left = append(left, id)
		}
	}
	return next, left
}

// Nodes returns the ids of the nodes that hold something in s: a socket
// (connecting or connected) or a user's grace period, in any room. Sorted,
// each once, without "" (a single-node server's sockets). A node missing
// from the list has nothing for a TypeNodeDown to remove. It reads the
// whole state: call it when a node's lease is checked, not per action.
func (s State) Nodes() []string {
	seen := map[string]bool{}
	for _, r := range s.rooms.All() {
		for _, sess := range r.sessions.All() {
			seen[sess.Node] = true
		}
		for _, p := range r.users.All() {
			seen[p.LeftOn] = true
		}
	}
	delete(seen, "")
	nodes := make([]string, 0, len(seen))
	for n := range seen {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	return nodes
}
