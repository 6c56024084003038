package transport

import (
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
// changes it missed when the conditions of docs/protocol.md ("Resume")
// hold, a snapshot otherwise. The current change is already in recent: a
// resumed socket gets it as a patch, a snapshot already shows it.
func (f *roomFeed) greetV2(s *session, c store.Change[chat.State], d chat.RoomDiff) {
	user := d.Connected.UserID
	token := s.grantedToken(c, user)
	if f.canResume(s, c, d) {
		s.out.send(actions.EncodeResumed(s.resume.lastSeq, user, token))
		for _, ch := range f.recent[f.head:] {
			if ch.seq > s.resume.lastSeq {
				s.out.sendPatch(ch.seq, ch.ops)
			}
		}
		return
	}
	s.out.send(actions.EncodeSnapshot(c.Seq, user, token, d.Next.UserList(), f.messages))
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
