package chat

import (
	"strings"
	"time"

	"github.com/statecast/statecast/actions"
)

// messageWindow is a room's message window: a window (see window) of
// messages stored without pointers, so that the garbage collector has
// nothing to scan in it. A state may hold a hundred thousand messages per
// room; held as actions.Message values, whose five strings are pointers,
// they made every collection cycle scan all of them, and the collector
// took about a quarter of the CPU of a busy server.
//
// Each message is a record of fixed size (its seq, its time and where its
// texts are), and its texts lie one after the other in a text arena that
// belongs to the records' array, in the order of the records. The arena is
// a strings.Builder whose capacity never changes: bytes written to it are
// never written again, so each version holds the arena's bytes up to its
// newest message as a string, and a message's texts are substrings of that
// string, made without copying. Like the records, the arena is written in
// place only by the newest version of the array, the one that claims the
// next record slot; any other append, or one that does not fit, copies the
// live records and their texts to a fresh array and arena, each with room
// to grow threefold.
//
// The zero messageWindow is empty. A messageWindow is a value; copy it
// freely.
type messageWindow struct {
	recs  window[messageRecord]
	text  string     // the arena's bytes up to the end of this version's last record
	arena *textArena // shared by the versions of recs' array; nil with no array
}

// textArena is the text of a messageWindow's array. Only the goroutine
// that claimed the array's next slot writes b; room never changes.
type textArena struct {
	b    strings.Builder
	room int // the capacity of b, in bytes
}

// messageRecord is one message of a messageWindow: its texts are
// arena[off:], ID, UserID, Username, Message and ClientID in this order,
// with the lengths in lens (a text is far shorter than 4 GiB: a frame
// holds it).
type messageRecord struct {
	seq  uint64
	sec  int64 // At, as seconds and nanoseconds since the Unix epoch (UTC)
	nsec int64
	off  int
	lens [5]uint32
}

// minArena is the least capacity of a fresh text arena, in bytes.
const minArena = 256

// messageWindowOf returns a window holding msgs, oldest first.
func messageWindowOf(msgs []actions.Message) messageWindow {
	var w messageWindow
	for _, m := range msgs {
		w = w.Append(m)
	}
	return w
}

// Len returns the number of messages.
func (w messageWindow) Len() int { return w.recs.Len() }

// At returns the i-th message, oldest first. Its strings share the arena.
// It panics if i is out of range.
func (w messageWindow) At(i int) actions.Message {
	var m actions.Message
	w.read(&m, w.recs.At(i))
	return m
}

// appendedSince returns the index of the first message whose seq is
// greater than seq, counting from the back: messages are appended with
// growing seqs.
func (w *messageWindow) appendedSince(seq uint64) int {
	live := w.recs.Live()
	i := len(live)
	for i > 0 && live[i-1].seq > seq {
		i--
	}
	return i
}

// lastSeq returns the seq of the newest message, 0 if there is none.
func (w *messageWindow) lastSeq() uint64 {
	if last, ok := w.recs.Last(); ok {
		return last.seq
	}
	return 0
}

// Same reports whether w and o are the same version.
func (w messageWindow) Same(o messageWindow) bool { return w.recs.Same(o.recs) }

// All returns a copy of the messages, oldest first (empty, not nil, if
// there are none).
func (w messageWindow) All() []actions.Message { return w.from(0) }

// from returns a copy of the messages from the i-th on.
func (w *messageWindow) from(i int) []actions.Message {
	live := w.recs.Live()[i:]
	out := make([]actions.Message, len(live))
	for j := range live {
		w.read(&out[j], &live[j])
	}
	return out
}

// read sets m to the message of r.
func (w *messageWindow) read(m *actions.Message, r *messageRecord) {
	t := w.text[r.off:]
	m.ID, t = t[:r.lens[0]], t[r.lens[0]:]
	m.UserID, t = t[:r.lens[1]], t[r.lens[1]:]
	m.Username, t = t[:r.lens[2]], t[r.lens[2]:]
	m.Message, t = t[:r.lens[3]], t[r.lens[3]:]
	m.ClientID = t[:r.lens[4]]
	m.At, m.Seq = time.Unix(r.sec, r.nsec).UTC(), r.seq
}

// Append returns the window with m added at the back, and w unchanged.
func (w messageWindow) Append(m actions.Message) messageWindow {
	rec := messageRecord{seq: m.Seq, sec: m.At.Unix(), nsec: int64(m.At.Nanosecond()), off: len(w.text),
		lens: [5]uint32{uint32(len(m.ID)), uint32(len(m.UserID)), uint32(len(m.Username)), uint32(len(m.Message)), uint32(len(m.ClientID))}}
	need := len(m.ID) + len(m.UserID) + len(m.Username) + len(m.Message) + len(m.ClientID)
	if w.arena != nil && len(w.text)+need <= w.arena.room {
		if recs, ok := w.recs.appendInPlace(rec); ok {
			// The record's slot is ours, and so is the arena after w.text:
			// only the newest version of the array writes either.
			b := &w.arena.b
			b.WriteString(m.ID)
			b.WriteString(m.UserID)
			b.WriteString(m.Username)
			b.WriteString(m.Message)
			b.WriteString(m.ClientID)
			w.recs, w.text = recs, b.String()[:len(w.text)+need]
			return w
		}
	}
	return w.fresh(need).Append(m)
}

// fresh returns the window on a fresh array and arena holding its live
// messages, with room for at least need more bytes of text.
func (w messageWindow) fresh(need int) messageWindow {
	live := w.recs.Live()
	base := len(w.text)
	if len(live) > 0 {
		base = live[0].off
	}
	text := w.text[base:]
	out := messageWindow{recs: windowOf(live), arena: &textArena{room: max(3*(len(text)+need), minArena)}}
	out.arena.b.Grow(out.arena.room)
	out.arena.b.WriteString(text)
	out.text = out.arena.b.String()
	for i := range out.recs.items { // a fresh array: no other version reads it yet
		out.recs.items[i].off -= base
	}
	return out
}

// DropFront returns the window without its n oldest messages.
func (w messageWindow) DropFront(n int) messageWindow {
	w.recs = w.recs.DropFront(n)
	return w
}

// KeepBack returns the window with only its n newest messages.
func (w messageWindow) KeepBack(n int) messageWindow { return w.DropFront(w.Len() - n) }
