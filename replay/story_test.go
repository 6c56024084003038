package replay_test

// The story of the end-to-end tests: a real server writes its data
// directory while real clients chat, and replay must rebuild exactly what
// the clients saw, from that directory, without changing a byte of it.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/transport"
)

// rpGrace is the servers' grace: short, so that a user who left is gone
// soon, and long enough for a page reload on a busy machine.
const rpGrace = 300 * time.Millisecond

// rpRoom is one room as the clients saw it after some seq: the user list
// (from connected, joined and disconnected), the sockets open (known to
// the test) and the last messagesList.
type rpRoom struct {
	users   []actions.User
	sockets int
	msgs    []actions.Message
}

// rpStory is a data directory that a server and real clients wrote in a
// known order of actions, the server now running on it (idle), and what
// the clients saw along the way.
//
// Phase 1 (snapshots every 5 actions): ann and bob chat in room chat, cat
// and dan in room ops; ann reloads her page; bob's messages push the
// oldest out of the window of 4; dan leaves for good (his grace runs out);
// then everyone leaves, one by one, past the grace, and the server stops.
// Phase 2: the server restarts, ann, bob and cat come back, bob writes.
//
//	 1 server/start           20 dan closes            29 server/start
//	 2-3 ann joins chat       21 dan expires           30-31 ann joins chat
//	 4-5 bob joins chat       22 cat "bye dan"         32-33 bob joins chat
//	 6 ann "hi bob"           23 bob closes            34 bob "welcome back"
//	 7 bob "hi ann"           24 bob expires           35-36 cat joins ops
//	 8-9 cat joins ops        25 ann closes
//	10-11 dan joins ops       26 ann expires
//	12 cat "deploy at 5"      27 cat closes
//	13 dan "ok"               28 cat expires, stop (snapshot 28)
//	14 ann's new socket opens (she reloads her page)
//	15 ann's old socket closes
//	16 ann's new socket connects
//	17 ann "back"
//	18 bob "one"
//	19 bob "two" ("hi bob" leaves the window)
type rpStory struct {
	dir      string
	srv      *chattest.Server
	ann, bob *chattest.Client
	// seen holds, for some seqs, what the clients had seen after it.
	seen map[uint64]map[string]rpRoom
	// log is every action of the log, read back with store/file.
	log []*actions.Action
	// socket names each socket id by the order of its session/open: s1, s2, …
	socket map[string]string
}

// rpConfig is the servers' configuration: no pings (the clients read
// only when the test expects a frame, and an unanswered ping would close
// their sockets), a window of 4 messages.
func rpConfig(dir string, snapshotEvery uint64) server.Config {
	return server.Config{Data: dir, Fsync: file.Off, History: 4, Grace: rpGrace, SnapshotEvery: snapshotEvery,
		Transport: transport.Config{PingInterval: time.Hour}}
}

func rpNewStory(t *testing.T) *rpStory {
	t.Helper()
	dir := t.TempDir()
	st := &rpStory{dir: dir, seen: map[uint64]map[string]rpRoom{}}
	rooms := map[string]*rpRoom{"chat": {}, "ops": {}}
	mark := func(seq uint64) {
		v := map[string]rpRoom{}
		for name, r := range rooms {
			v[name] = rpRoom{slices.Clone(r.users), r.sockets, slices.Clone(r.msgs)}
		}
		st.seen[seq] = v
	}
	// join connects a client and takes the room's lists from `connected`;
	// others are the clients of the room that must get `joined`.
	join := func(s *chattest.Server, room, id, name string, others ...*chattest.Client) *chattest.Client {
		t.Helper()
		path := "/chat"
		if room != "chat" {
			path += "/" + room
		}
		c, e := s.Join(t, path, id, name)
		rooms[room].users = rpField[[]actions.User](t, e, "connectedUserList")
		rooms[room].msgs = rpField[[]actions.Message](t, e, "messagesList")
		rooms[room].sockets++
		for _, o := range others {
			if j := o.Expect("joined"); j.Str("id") != id {
				t.Fatalf("joined %v, want %s", j, id)
			}
		}
		return c
	}
	// say writes text from c and waits until every client of the room
	// has the new messagesList.
	say := func(c *chattest.Client, room, text string, readers ...*chattest.Client) {
		t.Helper()
		c.Say(text)
		for _, r := range readers {
			rooms[room].msgs = rpField[[]actions.Message](t, r.Expect("messageWritten"), "messagesList")
		}
	}
	// gone waits until the others see id disconnected (its grace ran out).
	gone := func(room, id string, others ...*chattest.Client) {
		t.Helper()
		for _, o := range others {
			if e := o.Expect("disconnected"); e.Str("id") != id {
				t.Fatalf("disconnected %v, want %s", e, id)
			}
		}
		rooms[room].users = slices.DeleteFunc(rooms[room].users, func(u actions.User) bool { return u.ID == id })
	}
	leave := func(c *chattest.Client, room string, seq uint64) {
		t.Helper()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		rpWaitSeq(t, dir, seq)
		rooms[room].sockets--
	}

	s := chattest.Start(t, rpConfig(dir, 5))
	ann := join(s, "chat", "ann-id", "ann")
	bob := join(s, "chat", "bob-id", "bob", ann)
	say(ann, "chat", "hi bob", ann, bob)
	say(bob, "chat", "hi ann", ann, bob)
	cat := join(s, "ops", "cat-id", "cat")
	dan := join(s, "ops", "dan-id", "dan", cat)
	say(cat, "ops", "deploy at 5", cat, dan)
	say(dan, "ops", "ok", cat, dan)
	// ann reloads her page: the new page's socket opens, the old one
	// closes, the new one connects within the grace; bob gets nothing (his
	// next frame is "back").
	reloaded := s.Dial(t, "/chat")
	rpWaitSeq(t, dir, 14)
	leave(ann, "chat", 15)
	reloaded.Send(map[string]any{"event": "connecting", "id": "ann-id", "username": "ann"})
	e := reloaded.Expect("connected")
	rooms["chat"].users, rooms["chat"].msgs = rpField[[]actions.User](t, e, "connectedUserList"), rpField[[]actions.Message](t, e, "messagesList")
	rooms["chat"].sockets++
	ann = reloaded
	say(ann, "chat", "back", ann, bob)
	mark(17)
	say(bob, "chat", "one", ann, bob)
	say(bob, "chat", "two", ann, bob)
	mark(19)
	leave(dan, "ops", 20)
	gone("ops", "dan-id", cat)
	say(cat, "ops", "bye dan", cat)
	mark(22)
	leave(bob, "chat", 23)
	gone("chat", "bob-id", ann)
	leave(ann, "chat", 25)
	rpWaitSeq(t, dir, 26)
	gone("chat", "ann-id")
	leave(cat, "ops", 27)
	rpWaitSeq(t, dir, 28)
	gone("ops", "cat-id")
	mark(28)
	if err := s.Stop(); err != nil {
		t.Fatalf("server stop: %v", err)
	}

	st.srv = chattest.Start(t, rpConfig(dir, 1000))
	st.ann = join(st.srv, "chat", "ann-id", "ann")
	st.bob = join(st.srv, "chat", "bob-id", "bob", st.ann)
	say(st.bob, "chat", "welcome back", st.ann, st.bob)
	join(st.srv, "ops", "cat-id", "cat")
	mark(36)

	st.log = rpReadLog(t, dir)
	if n := len(st.log); n != 36 {
		t.Fatalf("the log holds %d actions, want 36: the story did not go as planned", n)
	}
	// v1 message objects lack the message's id, time and clientId: take
	// them from the message's action in the log.
	for _, rooms := range st.seen {
		for _, r := range rooms {
			for i, m := range r.msgs {
				a := st.log[m.Seq-1]
				r.msgs[i].ID, r.msgs[i].At = a.ID, a.At.UTC()
				if w, ok := a.Payload.(actions.WriteMessage); ok {
					r.msgs[i].ClientID = w.ClientID
				}
			}
		}
	}
	st.socket = map[string]string{}
	for _, a := range st.log {
		if a.Type == actions.TypeOpenSession {
			st.socket[a.Session] = fmt.Sprintf("s%d", len(st.socket)+1)
		}
	}
	return st
}

// rpField returns the field k of e, decoded as a T.
func rpField[T any](t *testing.T, e chattest.Event, k string) T {
	t.Helper()
	var v T
	b, _ := json.Marshal(e[k])
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s of %v: %v", k, e, err)
	}
	return v
}

// rpStateText is replay's text for the rooms after seq.
func rpStateText(seq uint64, rooms map[string]rpRoom, names ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state after seq %d\n", seq)
	for _, name := range names {
		r := rooms[name]
		var users []string
		for _, u := range r.users {
			users = append(users, fmt.Sprintf("%s (%s)", u.Username, u.ID))
		}
		if len(users) == 0 {
			users = []string{"(none)"}
		}
		fmt.Fprintf(&b, "\nroom %s: %d users, %d open sockets, %d messages\n  users: %s\n", name, len(r.users), r.sockets, len(r.msgs), strings.Join(users, ", "))
		for _, m := range r.msgs {
			fmt.Fprintf(&b, "  %8d  %s  %s: %s\n", m.Seq, m.At.Format(time.RFC3339), m.Username, m.Message)
		}
	}
	return b.String()
}

var rpTimeColumn = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z`)

// mask replaces the time column of an action listing with <at>, after
// checking each against the action's time in the log, and socket ids with
// their names.
func (st *rpStory) mask(t *testing.T, out string) string {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		var seq uint64
		if _, err := fmt.Sscanf(line, "%d", &seq); err == nil && seq >= 1 && seq <= uint64(len(st.log)) {
			at, err := time.Parse(time.RFC3339Nano, rpTimeColumn.FindString(line))
			if want := st.log[seq-1].At; err != nil || !at.Equal(want) {
				t.Errorf("line %q: the time is not %s, the action's (%v)", line, want.Format(time.RFC3339Nano), err)
			}
			line = rpTimeColumn.ReplaceAllString(line, "<at>")
		}
		lines = append(lines, line)
	}
	out = strings.Join(lines, "\n")
	for id, name := range st.socket {
		out = strings.ReplaceAll(out, id, name)
	}
	return out
}

// rpStart starts a server on dir that does not fsync.
func rpStart(t *testing.T, dir string) *chattest.Server {
	return chattest.Start(t, server.Config{Data: dir, Fsync: file.Off})
}
