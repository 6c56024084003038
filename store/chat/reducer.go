package chat

import (
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// DefaultHistory is how many messages a room retains by default.
const DefaultHistory = 1000

// MinDedupe is the least number of a room's newest messages whose
// clientIds are remembered, so that a re-sent write is not applied twice.
const MinDedupe = 1000

// Options configure the reducer.
type Options struct {
	// History is how many of a room's newest messages the state retains.
	// Defaults to DefaultHistory.
	History int
}

// NewReducer returns the chat reducer. It is pure: the same actions always
// give the same state. Actions it cannot apply (a message from a socket that
// is not connected, the expiry of a presence that came back) leave the state
// as it is; rejecting them with an error is middleware's job.
func NewReducer(opts Options) store.Reducer[State] {
	history := opts.History
	if history <= 0 {
		history = DefaultHistory
	}
	dedupe := max(history, MinDedupe)
	return func(s State, a *actions.Action) State {
		switch a.Type {
		case actions.TypeServerStart:
			return closeAll(s, a)
		case actions.TypeNodeDown:
			return nodeDown(s, a)
		}
		k := keyOf(a.Room)
		r := s.roomAt(k)
		if r == nil {
			r = newRoom(a.Room)
		}
		if a.Type == actions.TypeConnect {
			return connectIdentity(s, r, a)
		}
		next := reduceRoom(r, a, history, dedupe)
		if next == r {
			return s
		}
		if a.Type == actions.TypeExpirePresence {
			s = s.leftRoom(a.User)
		}
		return s.withRoomAt(k, next)
	}
}

// connectIdentity decides which id a connecting socket gets (see
// actions.Connect), connects it, and records the id's presence and token.
func connectIdentity(s State, r *Room, a *actions.Action) State {
	c, _ := a.Payload.(actions.Connect)
	// A socket connects once, after it was opened: a connect for a socket
	// the state does not hold (closed meanwhile, or removed with its node)
	// changes nothing.
	sess, opened := r.sessions.Get(a.Session)
	if !opened || sess.IsConnected || a.User == "" {
		return s
	}
	user := a.User
	if !s.mayClaim(user, c) && c.Fallback != "" {
		user = c.Fallback
	}
	_, wasListed := r.users.Get(user)
	next := connect(r, a, user, c.Username)
	if !wasListed {
		s = s.enteredRoom(user)
	}
	if c.Strict {
		s = s.bind(user, c)
	}
	return s.withRoom(next)
}

// reduceRoom returns r itself when the action changes nothing.
func reduceRoom(r *Room, a *actions.Action, history, dedupe int) *Room {
	switch a.Type {
	case actions.TypeOpenSession:
		if _, ok := r.sessions.Get(a.Session); ok {
			return r
		}
		o, _ := a.Payload.(actions.Open)
		r = r.clone()
		r.sessions = r.sessions.Set(a.Session, Session{ID: a.Session, IsEstablishingConnection: true, Node: o.Node})
		return r
	case actions.TypeCloseSession:
		return closeSession(r, a)
	case actions.TypeWriteMessage:
		return writeMessage(r, a, history, dedupe)
	case actions.TypePostMessage:
		p, _ := a.Payload.(actions.PostMessage)
		return appendMessage(r.clone(), history, actions.Message{
			ID: a.ID, UserID: a.User, Username: p.Username, Message: p.Message, At: a.At.UTC(), Seq: a.Seq,
		})
	case actions.TypeExpirePresence:
		p, ok := r.users.Get(a.User)
		exp, _ := a.Payload.(actions.Expire)
		if !ok || p.Sockets > 0 || p.LeftAt != exp.Since {
			return r
		}
		r = r.clone()
		r.users = r.users.Delete(a.User)
		return r
	}
	return r
}

// connect marks the socket connected as user (on the node that opened it)
// and counts it in the user's presence, which it creates when user enters
// the room.
func connect(r *Room, a *actions.Action, user, username string) *Room {
	opened, _ := r.sessions.Get(a.Session)
	r = r.clone()
	r.sessions = r.sessions.Set(a.Session, Session{
		ID: a.Session, UserID: user, Username: username, IsConnected: true, Node: opened.Node,
	})
	p, ok := r.users.Get(user)
	if !ok {
		p = Presence{User: actions.User{ID: user, Username: username}, Entered: a.Seq}
	}
	p.Sockets++
	p.LeftAt, p.LeftOn = 0, ""
	r.users = r.users.Set(user, p)
	return r
}

func closeSession(r *Room, a *actions.Action) *Room {
	sess, ok := r.sessions.Get(a.Session)
	if !ok {
		return r
	}
	r = r.clone()
	r.sessions = r.sessions.Delete(a.Session)
	if !sess.IsConnected {
		return r
	}
	if p, ok := r.users.Get(sess.UserID); ok {
		p.Sockets--
		if p.Sockets <= 0 {
			p.Sockets, p.LeftAt, p.LeftOn = 0, a.Seq, sess.Node
		}
		r.users = r.users.Set(sess.UserID, p)
	}
	return r
}

// writeMessage appends a message, unless its clientId was already used by
// the same user in this room within the dedupe window.
func writeMessage(r *Room, a *actions.Action, history, dedupe int) *Room {
	sess, ok := r.sessions.Get(a.Session)
	w, _ := a.Payload.(actions.WriteMessage)
	if !ok || !sess.IsConnected {
		return r
	}
	var key string
	if w.ClientID != "" {
		key = writtenKey(sess.UserID, w.ClientID)
		if _, dup := r.written.Get(key); dup {
			return r
		}
	}
	r = r.clone()
	if w.ClientID != "" {
		r.written = r.written.Add(key, a.Seq, dedupe)
	}
	return appendMessage(r, history, actions.Message{
		ID:       a.ID,
		UserID:   sess.UserID,
		Username: sess.Username,
		Message:  w.Message,
		At:       a.At.UTC(),
		Seq:      a.Seq,
		ClientID: w.ClientID,
	})
}

// appendMessage adds m to r, a clone the caller owns, and trims the
// window to the newest history messages.
func appendMessage(r *Room, history int, m actions.Message) *Room {
	r.messages = r.messages.Append(m).KeepBack(history)
	return r
}

// closeAll closes every socket of every room, as if each had closed by
// itself: users left without a socket enter their grace period.
func closeAll(s State, a *actions.Action) State {
	for _, name := range s.RoomNames() {
		r := s.Room(name)
		for _, sess := range r.sessionList() {
			r = closeSession(r, &actions.Action{Type: actions.TypeCloseSession, Seq: a.Seq, Room: name, Session: sess.ID})
		}
		s = s.withRoom(r)
	}
	return s
}
