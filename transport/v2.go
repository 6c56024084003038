package transport

import (
	"sort"
	"strconv"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// patchOps turns a room diff into the RFC 6902 operations that take a v2
// mirror of the room from the old state to the new one. encoded holds the
// appended messages, encoded. The mirror's isConnected and
// isEstablishingConnection describe the receiving socket and never change
// by patch (docs/protocol.md, "The v2 dialect").
func patchOps(d chat.RoomDiff, encoded [][]byte) [][]byte {
	var ops [][]byte
	if d.Left != nil {
		for i, u := range d.Prev.UserList() {
			if u.ID == d.Left.ID {
				ops = append(ops, actions.AppendRemoveOp(nil, "/userList/"+strconv.Itoa(i)))
				break
			}
		}
	}
	if d.Entered != nil {
		ops = append(ops, actions.AppendAddOp(nil, "/userList/-", actions.EncodeUser(*d.Entered)))
	}
	for _, m := range encoded {
		ops = append(ops, actions.AppendAddOp(nil, "/messages/-", m))
	}
	for range d.Dropped {
		ops = append(ops, actions.AppendRemoveOp(nil, "/messages/0"))
	}
	return ops
}

// remember keeps a change for resuming clients, forgetting the oldest
// beyond the window's count or bytes. Amortized O(1): forgotten changes
// leave the front by moving head, and the slice is compacted now and then.
func (f *roomFeed) remember(seq uint64, ops [][]byte) {
	if len(ops) == 0 {
		return
	}
	ch := roomChange{seq: seq, ops: ops}
	for _, op := range ops {
		ch.size += len(op)
	}
	f.recent = append(f.recent, ch)
	f.recentBytes += ch.size
	for len(f.recent)-f.head > 1 && (len(f.recent)-f.head > f.window || f.recentBytes > f.windowBytes) {
		old := f.recent[f.head]
		f.forgotten, f.recentBytes = old.seq, f.recentBytes-old.size
		f.recent[f.head] = roomChange{}
		f.head++
	}
	if f.head > 64 && f.head > len(f.recent)/2 {
		f.recent = append(f.recent[:0], f.recent[f.head:]...)
		f.head = 0
	}
}

// greetV2 answers a v2 socket's `connecting`: `resumed` and exactly the
// changes it missed when the resume conditions hold (docs/protocol.md), a
// snapshot otherwise. The current change is already in recent: a resumed
// socket gets it as a patch, a snapshot already shows it.
//
// The missed changes go out merged into a few bounded `patch` frames
// (catchUp), never one queued item per change, so that a client back from
// a long absence never overflows its send queue; where they would take
// more than one frame's worth (catchUpFrameBytes) and more bytes than a
// snapshot, it gets the snapshot instead.
func (f *roomFeed) greetV2(s *session, c store.Change[chat.State], d chat.RoomDiff) {
	user := d.Connected.UserID
	token := s.grantedToken(c, user)
	if f.canResume(s, c, d) {
		missed, size := f.since(s.resume.lastSeq)
		if size <= catchUpFrameBytes || size <= f.snapshotSize() {
			s.out.send(actions.EncodeResumed(s.resume.lastSeq, user, token))
			for _, frame := range catchUp(missed, size, s.cfg.SendQueue) {
				s.out.send(frame)
			}
			return
		}
	}
	s.out.send(actions.EncodeSnapshot(c.Seq, user, token, f.users.list(), f.messages))
}

// since returns the remembered changes after seq, oldest first, and the
// bytes of their operations.
func (f *roomFeed) since(seq uint64) (missed []roomChange, size int) {
	recent := f.recent[f.head:]
	i := sort.Search(len(recent), func(i int) bool { return recent[i].seq > seq })
	for _, ch := range recent[i:] {
		size += ch.size
	}
	return recent[i:], size
}

// snapshotSize is about the bytes of a snapshot of the room: its messages
// and its user list.
func (f *roomFeed) snapshotSize() int {
	size := 64 * len(f.users.list())
	for _, m := range f.messages {
		size += len(m) + 1
	}
	return size
}

// catchUpFrameBytes is the least size a catch-up frame is filled to.
const catchUpFrameBytes = 64 << 10

// catchUp encodes the missed changes as `patch` frames, each merging
// adjacent changes (its seq is the last one's), into at most half of a
// send queue of queueLen frames: the rest stays free for live changes.
func catchUp(missed []roomChange, size, queueLen int) [][]byte {
	if len(missed) == 0 {
		return nil
	}
	frames := max(queueLen/2, 1)
	limit := max(catchUpFrameBytes, (size+frames-1)/frames)
	var out [][]byte
	var ops [][]byte
	bytes := 0
	for i, ch := range missed {
		ops = append(ops, ch.ops...)
		bytes += ch.size
		if bytes >= limit || i == len(missed)-1 {
			out = append(out, actions.EncodePatch(ch.seq, ops))
			ops, bytes = nil, 0
		}
	}
	return out
}

// canResume: the socket sent lastSeq and a token; it kept its id with that
// token (or a verified claim); the id was in this room when its socket
// dropped; lastSeq is not in the future; and every change of the room
// after lastSeq is still in recent.
func (f *roomFeed) canResume(s *session, c store.Change[chat.State], d chat.RoomDiff) bool {
	r, user := s.resume, d.Connected.UserID
	if !r.ok || r.lastSeq > c.Seq || r.lastSeq < f.forgotten {
		return false
	}
	if _, was := d.Prev.Presence(user); !was {
		return false
	}
	conn, _ := c.Action.Payload.(actions.Connect)
	return user == c.Action.User && (conn.Verified || c.Prev.Bound(user, r.tokenHash))
}
