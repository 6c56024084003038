package chat

import (
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/statecast/statecast/actions"
)

// messageWindow is a room's message window: a persistent sequence of
// messages that grows at the back and shrinks at the front, whose versions
// share their storage, stored without pointers, so that the garbage
// collector has nothing to scan in it. A state may hold a hundred thousand
// messages per room; held as actions.Message values, whose five strings
// are pointers, they made every collection cycle scan all of them, and the
// collector took about a quarter of the CPU of a busy server.
//
// The messages lie in chunks of chunkRecords fixed-size records (each a
// message's seq, its time and where its texts are) and a text arena of
// fixed capacity, holding the records' texts one after the other. Bytes
// and records written to a chunk are never written again, so each version
// holds, for each of its chunks, how many of its records it has and the
// arena's bytes up to the last of them as a string: a message's texts are
// substrings of it, made without copying. A chunk is written in place only
// by the newest version of it, the one that claims the chunk's next record
// with a CompareAndSwap; any other append (a fork), or one that does not
// fit, starts a fresh chunk. Appending therefore never copies messages,
// and dropping from the front releases whole chunks: a window of n
// messages holds n plus at most two chunks' worth.
//
// The zero messageWindow is empty. A messageWindow is a value; copy it
// freely.
type messageWindow struct {
	full  window[chunkView] // the chunks before tail, oldest first
	tail  chunkView         // the chunk appended to; its c is nil in the zero window
	start int               // ordinal of the oldest live message
}

// chunkView is a version's view of a chunk: its first n records.
type chunkView struct {
	c    *messageChunk
	base int    // the ordinal of the chunk's first record: messages count from the window's first ever
	n    int    // records of c in this view
	text string // c's arena up to the end of its n-th record
}

// end returns the ordinal after the view's last record.
func (v *chunkView) end() int { return v.base + v.n }

// messageChunk holds up to chunkRecords messages. Only the goroutine that
// claimed record i writes it and the arena's bytes after record i-1's.
type messageChunk struct {
	recs    []messageRecord // chunkRecords long
	arena   strings.Builder // its capacity, room, never changes
	room    int
	claimed atomic.Int64 // records handed out so far
}

// messageRecord is one message of a chunk: its texts are the chunk's arena
// from off on, ID, UserID, Username, Message and ClientID in this order,
// with the lengths in lens (a text is far shorter than 4 GiB: a frame
// holds it).
type messageRecord struct {
	seq  uint64
	sec  int64 // At, as seconds and nanoseconds since the Unix epoch (UTC)
	nsec int64
	off  int
	lens [5]uint32
}

const (
	// chunkRecords is how many messages a chunk holds: its records take
	// 28 KiB, a size the allocator serves from its small-object classes.
	chunkRecords = 512
	// chunkArena is the text capacity of a chunk, in bytes, unless one
	// message needs more: 64 bytes a message on average.
	chunkArena = chunkRecords * 64
)

func newMessageChunk(need int) *messageChunk {
	c := &messageChunk{recs: make([]messageRecord, chunkRecords), room: max(chunkArena, need)}
	c.arena.Grow(c.room)
	return c
}

// messageWindowOf returns a window holding msgs, oldest first.
func messageWindowOf(msgs []actions.Message) messageWindow {
	var w messageWindow
	for _, m := range msgs {
		w = w.Append(m)
	}
	return w
}

// Len returns the number of messages.
func (w messageWindow) Len() int { return w.tail.end() - w.start }

// At returns the i-th message, oldest first. Its strings share the arena.
// It panics if i is out of range.
func (w messageWindow) At(i int) actions.Message {
	if i < 0 || i >= w.Len() {
		panic("chat: message index out of range")
	}
	j, k := w.locate(w.start + i)
	var m actions.Message
	read(&m, w.view(j), k)
	return m
}

// views returns how many chunks the window has views of: the full ones
// and the tail.
func (w *messageWindow) views() int { return w.full.Len() + 1 }

// view returns the j-th chunk view, oldest first; the last is the tail.
func (w *messageWindow) view(j int) *chunkView {
	if j == w.full.Len() {
		return &w.tail
	}
	return w.full.At(j)
}

// locate returns the chunk view and the record in it of the message with
// ordinal g, a live one.
func (w *messageWindow) locate(g int) (j, k int) {
	if g >= w.tail.base {
		return w.full.Len(), g - w.tail.base
	}
	full := w.full.Live()
	j = sort.Search(len(full), func(j int) bool { return full[j].end() > g })
	return j, g - full[j].base
}

// appendedSince returns the index of the first message whose seq is
// greater than seq, counting from the back: messages are appended with
// growing seqs.
func (w *messageWindow) appendedSince(seq uint64) int {
	i := w.Len()
	for j := w.views() - 1; j >= 0 && i > 0; j-- {
		v := w.view(j)
		for k := v.n - 1; k >= 0 && i > 0; k-- {
			if v.c.recs[k].seq <= seq {
				return i
			}
			i--
		}
	}
	return i
}

// lastSeq returns the seq of the newest message, 0 if there is none.
func (w *messageWindow) lastSeq() uint64 {
	if w.Len() == 0 {
		return 0
	}
	return w.tail.c.recs[w.tail.n-1].seq
}

// Same reports whether w and o are the same version.
func (w messageWindow) Same(o messageWindow) bool {
	return w.start == o.start && w.tail.c == o.tail.c && w.tail.n == o.tail.n && w.full.Same(o.full)
}

// All returns a copy of the messages, oldest first (empty, not nil, if
// there are none).
func (w messageWindow) All() []actions.Message { return w.from(0) }

// from returns a copy of the messages from the i-th on.
func (w *messageWindow) from(i int) []actions.Message {
	out := make([]actions.Message, w.Len()-i)
	if len(out) == 0 {
		return out
	}
	j, k := w.locate(w.start + i)
	for n := range out {
		for v := w.view(j); k >= v.n; v = w.view(j) {
			j, k = j+1, k-v.n
		}
		read(&out[n], w.view(j), k)
		k++
	}
	return out
}

// read sets m to the k-th record of view v.
func read(m *actions.Message, v *chunkView, k int) {
	r := &v.c.recs[k]
	t := v.text[r.off:]
	m.ID, t = t[:r.lens[0]], t[r.lens[0]:]
	m.UserID, t = t[:r.lens[1]], t[r.lens[1]:]
	m.Username, t = t[:r.lens[2]], t[r.lens[2]:]
	m.Message, t = t[:r.lens[3]], t[r.lens[3]:]
	m.ClientID = t[:r.lens[4]]
	m.At, m.Seq = time.Unix(r.sec, r.nsec).UTC(), r.seq
}

// Append returns the window with m added at the back, and w unchanged.
func (w messageWindow) Append(m actions.Message) messageWindow {
	need := len(m.ID) + len(m.UserID) + len(m.Username) + len(m.Message) + len(m.ClientID)
	if !w.appendInPlace(&m, need) {
		if w.tail.end() > w.start { // the tail holds live messages: keep its view
			w.full = w.full.Append(w.tail)
		}
		w.tail = chunkView{c: newMessageChunk(need), base: w.tail.end()}
		w.appendInPlace(&m, need) // a fresh chunk: no other version claims its records
	}
	return w
}

// appendInPlace appends m, whose texts take need bytes, to the tail chunk
// if w is its newest version and it has room; it reports whether it did,
// and leaves the chunk as it was if not.
func (w *messageWindow) appendInPlace(m *actions.Message, need int) bool {
	v := &w.tail
	if v.c == nil || v.n == chunkRecords || len(v.text)+need > v.c.room || !v.c.claimed.CompareAndSwap(int64(v.n), int64(v.n)+1) {
		return false
	}
	// The record is ours, and so is the arena after v.text: only the
	// newest version of the chunk writes either.
	v.c.recs[v.n] = messageRecord{seq: m.Seq, sec: m.At.Unix(), nsec: int64(m.At.Nanosecond()), off: len(v.text),
		lens: [5]uint32{uint32(len(m.ID)), uint32(len(m.UserID)), uint32(len(m.Username)), uint32(len(m.Message)), uint32(len(m.ClientID))}}
	b := &v.c.arena
	b.WriteString(m.ID)
	b.WriteString(m.UserID)
	b.WriteString(m.Username)
	b.WriteString(m.Message)
	b.WriteString(m.ClientID)
	v.n++
	v.text = b.String()[:len(v.text)+need]
	return true
}

// DropFront returns the window without its n oldest messages, and the
// chunks they leave empty.
func (w messageWindow) DropFront(n int) messageWindow {
	w.start += min(max(n, 0), w.Len())
	full := w.full.Live()
	k := 0
	for k < len(full) && full[k].end() <= w.start {
		k++
	}
	w.full = w.full.DropFront(k)
	return w
}

// KeepBack returns the window with only its n newest messages.
func (w messageWindow) KeepBack(n int) messageWindow { return w.DropFront(w.Len() - n) }
