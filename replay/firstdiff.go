package replay

import (
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// tracker records, while Verify folds from a state that agreed (agreed),
// which parts of the state each action may have changed, by the action
// alone (never by the state, which may already differ from the server's),
// and which messages the fold dropped from a window, and when. firstDiff
// then finds the first seq at which the fold and a snapshot provably
// differ: see the package documentation.
type tracker struct {
	agreed  uint64
	touched map[string]uint64            // part key (see parts.go) → last seq that may have changed it
	dropped map[string]map[uint64]uint64 // room → message seq → seq that dropped it from the rebuilt window
}

func newTracker(agreed uint64) *tracker {
	return &tracker{agreed: agreed, touched: map[string]uint64{}, dropped: map[string]map[uint64]uint64{}}
}

// record notes what ch's action may have changed.
func (t *tracker) record(ch store.Change[chat.State]) {
	a, seq := ch.Action, ch.Seq
	touch := func(kind, room, id string) { t.touched[partKey(kind, room, id)] = seq }
	if a.Room != "" {
		touch(partRoom, a.Room, "")
	}
	switch a.Type {
	case actions.TypeOpenSession:
		touch(partSession, a.Room, a.Session)
	case actions.TypeConnect:
		c, _ := a.Payload.(actions.Connect)
		touch(partSession, a.Room, a.Session)
		for _, id := range []string{a.User, c.Fallback} {
			touch(partUser, a.Room, id)
			touch(partID, "", id)
		}
	case actions.TypeCloseSession:
		// The socket's user is known from the state only: any user of the room.
		touch(partSession, a.Room, a.Session)
		touch(partUser, a.Room, wildcard)
	case actions.TypeExpirePresence:
		touch(partUser, a.Room, a.User)
		touch(partID, "", a.User)
	case actions.TypeWriteMessage, actions.TypePostMessage:
		touch(partMessages, a.Room, "")
		touch(partWritten, a.Room, "")
		t.recordDrops(ch)
	default: // server/start, node/down, and types this package does not know
		t.touched[everything] = seq
	}
}

// recordDrops notes the messages that ch dropped from its room's window.
func (t *tracker) recordDrops(ch store.Change[chat.State]) {
	d := chat.Diff(ch.Prev, ch.Next, ch.Action)
	if d.Dropped == 0 || d.Prev == nil {
		return
	}
	room := ch.Action.Room
	if t.dropped[room] == nil {
		t.dropped[room] = map[uint64]uint64{}
	}
	for i := range min(d.Dropped, d.Prev.MessageCount()) {
		t.dropped[room][d.Prev.Message(i).Seq] = ch.Seq
	}
}

// last returns the last seq that may have changed the part (kind, room,
// id), or 0.
func (t *tracker) last(kind, room, id string) uint64 {
	return max(t.touched[partKey(kind, room, id)], t.touched[partKey(kind, room, wildcard)], t.touched[everything])
}

// firstDiff returns the first seq after which the rebuilt state provably
// differs from the server's, given the encodings of the rebuilt state and
// of the snapshot at seq snap. A part of the state that no action after
// seq k changed is, in the server's state after k, as the snapshot shows
// it; if the rebuilt state after k has it otherwise, the two differed
// after k. firstDiff returns the least such k, at least agreed+1, and snap
// when it finds no part that differs.
func (t *tracker) firstDiff(rebuilt, stored []byte, snap uint64) uint64 {
	first := snap
	at := func(k uint64) { first = min(first, max(k, t.agreed+1)) }
	r, s := partsOf(rebuilt), partsOf(stored)
	if r == nil || s == nil {
		return first
	}
	for key, rv := range r.parts {
		if sv, ok := s.parts[key]; !ok || sv != rv {
			at(t.last(key.kind, key.room, key.id))
		}
	}
	for key := range s.parts {
		if _, ok := r.parts[key]; !ok {
			at(t.last(key.kind, key.room, key.id))
		}
	}
	for room, sm := range s.messages {
		rm := r.messages[room]
		for seq, m := range sm {
			switch rv, ok := rm[seq]; {
			case ok && rv != m: // a message never changes once written
				at(seq)
			case !ok: // the server held it from seq on; the fold lacks it since it dropped it, or since seq
				if d, dropped := t.dropped[room][seq]; dropped {
					at(d)
				} else {
					at(seq)
				}
			}
		}
	}
	for room, rm := range r.messages {
		for seq := range rm {
			if _, ok := s.messages[room][seq]; !ok { // the server dropped it by its room's last write at the latest
				at(max(seq, t.last(partMessages, room, "")))
			}
		}
	}
	return first
}
