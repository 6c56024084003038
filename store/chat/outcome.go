package chat

import "github.com/statecast/statecast/actions"

// OutcomeOf reports what the reducer granted a, given the states before
// and after it: the store calls it for every applied action (see
// store.Options.Outcome), and a replay can call it on any Change. It reads
// only prev and next, so it is as pure as the reducer.
func OutcomeOf(prev, next State, a *actions.Action) actions.Outcome {
	o := actions.Outcome{User: a.User, Seq: a.Seq, Applied: !sameState(prev, next)}
	switch a.Type {
	case actions.TypeConnect:
		if sess, ok := sessionOf(next, a); ok && o.Applied {
			o.User = sess.UserID
		}
	case actions.TypeWriteMessage, actions.TypeCloseSession:
		sess, ok := sessionOf(prev, a)
		if !ok || !sess.IsConnected {
			break
		}
		o.User = sess.UserID
		if w, _ := a.Payload.(actions.WriteMessage); a.Type == actions.TypeWriteMessage && w.ClientID != "" {
			if seq, ok := next.Room(a.Room).Written(sess.UserID, w.ClientID); ok {
				o.Seq = seq
			}
		}
	}
	return o
}

// sessionOf returns the socket a names in s.
func sessionOf(s State, a *actions.Action) (Session, bool) {
	r := s.Room(a.Room)
	if r == nil {
		return Session{}, false
	}
	return r.Session(a.Session)
}

// sameState reports whether next is prev itself: the reducer returns the
// state it was given, untouched, for every action it ignores.
func sameState(prev, next State) bool {
	return prev.rooms.Same(next.rooms) && prev.ids.Same(next.ids)
}
