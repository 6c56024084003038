package main

// End-to-end tests of `statecast replay`: a real server writes its data
// directory while real clients chat, and replay must rebuild exactly what
// the clients saw, from that directory, without changing a byte of it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// rpGrace is the servers' -grace: short, so that a user who left is gone
// soon, and long enough for a page reload on a busy machine.
const rpGrace = "300ms"

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
// Phase 1 (-snapshot-every 5): ann and bob chat in room chat, cat and dan
// in room ops; ann reloads her page; bob's messages push the oldest out of
// the -history 4 window; dan leaves for good (his grace runs out); then
// everyone leaves, one by one, past the grace, and the server stops. Phase
// 2: the server restarts, ann, bob and cat come back, bob writes.
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
	srv      *testServer
	ann, bob *client
	// seen holds, for some seqs, what the clients had seen after it.
	seen map[uint64]map[string]rpRoom
	// log is every action of the log, read back with store/file.
	log []*actions.Action
	// socket names each socket id by the order of its session/open: s1, s2, …
	socket map[string]string
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
	// others are the clients of the room that must get `joined` (or,
	// after a reload, nothing until the next message).
	join := func(s *testServer, room, id, name string, others ...*client) *client {
		t.Helper()
		path := "/chat"
		if room != "chat" {
			path += "/" + room
		}
		c, e := s.join(path, id, name)
		rooms[room].users = rpField[[]actions.User](t, e, "connectedUserList")
		rooms[room].msgs = rpField[[]actions.Message](t, e, "messagesList")
		rooms[room].sockets++
		for _, o := range others {
			if j := o.expect("joined"); j.str("id") != id {
				t.Fatalf("joined %v, want %s", j, id)
			}
		}
		return c
	}
	// say writes text from c and waits until every client of the room
	// has the new messagesList.
	say := func(c *client, room, text string, readers ...*client) {
		t.Helper()
		c.send(map[string]any{"event": "writeMessage", "message": text})
		for _, r := range readers {
			rooms[room].msgs = rpField[[]actions.Message](t, r.expect("messageWritten"), "messagesList")
		}
	}
	// gone waits until the others see id disconnected (its grace ran out).
	gone := func(room, id string, others ...*client) {
		t.Helper()
		for _, o := range others {
			if e := o.expect("disconnected"); e.str("id") != id {
				t.Fatalf("disconnected %v, want %s", e, id)
			}
		}
		rooms[room].users = slices.DeleteFunc(rooms[room].users, func(u actions.User) bool { return u.ID == id })
	}
	leave := func(c *client, room string, seq uint64) {
		t.Helper()
		if err := c.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}
		rpWaitSeq(t, dir, seq)
		rooms[room].sockets--
	}

	// No pings: the clients read only when the test expects a frame, and
	// an unanswered ping would close their sockets.
	flags := []string{"-data", dir, "-fsync", "off", "-history", "4", "-grace", rpGrace, "-ping-interval", "1h"}
	s := startServer(t, append(flags, "-snapshot-every", "5")...)
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
	reloaded := s.dial("/chat")
	rpWaitSeq(t, dir, 14)
	leave(ann, "chat", 15)
	reloaded.send(map[string]any{"event": "connecting", "id": "ann-id", "username": "ann"})
	e := reloaded.expect("connected")
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
	if err := s.stop(); err != nil {
		t.Fatalf("server stop: %v", err)
	}

	st.srv = startServer(t, append(flags, "-snapshot-every", "1000")...)
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
func rpField[T any](t *testing.T, e event, k string) T {
	t.Helper()
	var v T
	b, _ := json.Marshal(e[k])
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s of %v: %v", k, e, err)
	}
	return v
}

// rpWaitSeq waits until the log in dir holds seq.
func rpWaitSeq(t *testing.T, dir string, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := file.Open(dir, file.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		last := l.LastSeq()
		l.Close()
		if last >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log reached seq %d, want %d within 5s", last, seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rpReadLog returns every action in dir's log, read with store/file.
func rpReadLog(t *testing.T, dir string) []*actions.Action {
	t.Helper()
	l, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var all []*actions.Action
	err = l.Read(context.Background(), 1, func(a *actions.Action) error {
		c := *a
		all = append(all, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// rpSnapshots returns the seqs of the snapshots in dir.
func rpSnapshots(t *testing.T, dir string) []uint64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, n := range names {
		var seq uint64
		if _, err := fmt.Sscanf(filepath.Base(n), "%020d.snap", &seq); err != nil {
			t.Fatalf("snapshot name %s: %v", n, err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// rpRun runs replay with args and returns its standard output and error.
func rpRun(args ...string) (out, errOut string, err error) {
	var o, e bytes.Buffer
	err = replayTo(context.Background(), args, nil, &o, &e)
	return o.String(), e.String(), err
}

// rpReplay runs replay with args and returns its standard output. Under
// -progress auto (the default) nothing may reach standard error, which is
// not a terminal here.
func rpReplay(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, errOut, err := rpRun(args...)
	if errOut != "" {
		t.Errorf("replay %v wrote to standard error: %q", args, errOut)
	}
	return out, err
}

// rpMust is rpReplay that must succeed.
func rpMust(t *testing.T, args ...string) string {
	t.Helper()
	out, err := rpReplay(t, args...)
	if err != nil {
		t.Fatalf("replay %v: %v", args, err)
	}
	return out
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

// rpRoomJSON is the JSON form of one room of replay's state.
type rpRoomJSON struct {
	Seq   uint64 `json:"seq"`
	Room  string `json:"room"`
	Users []struct {
		User    actions.User `json:"user"`
		Entered uint64       `json:"entered"`
		Sockets int          `json:"sockets"`
		LeftAt  uint64       `json:"leftAt"`
	} `json:"users"`
	Sockets  int               `json:"sockets"`
	Messages []actions.Message `json:"messages"`
}

// users returns the user list of r.
func (r rpRoomJSON) users() []actions.User {
	var u []actions.User
	for _, p := range r.Users {
		u = append(u, p.User)
	}
	return u
}

// rpLines decodes replay's JSON output, one T a line, refusing unknown fields.
func rpLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var all []T
	for _, line := range strings.SplitAfter(strings.TrimSuffix(out, "\n"), "\n") {
		var v T
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		all = append(all, v)
	}
	return all
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

// rpHashes returns every file under dir with its size and SHA-256.
func rpHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = fmt.Sprintf("%d bytes %x", len(b), sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestReplay(t *testing.T) {
	t.Parallel()
	st := rpNewStory(t)
	dir, data := st.dir, []string{"-data", st.dir, "-history", "4"}
	args := func(a ...string) []string { return append(slices.Clone(data), a...) }
	before := rpHashes(t, dir)

	// All of these read the directory of the running server.
	t.Run("live", func(t *testing.T) {
		t.Run("final state, text", func(t *testing.T) {
			t.Parallel()
			want := rpStateText(36, st.seen[36], "chat", "ops")
			if got := rpMust(t, args()...); got != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
			// STATECAST_DATA and STATECAST_HISTORY work as for serve.
			var out bytes.Buffer
			if err := replayTo(context.Background(), nil, []string{"STATECAST_DATA=" + dir, "STATECAST_HISTORY=4"}, &out, &bytes.Buffer{}); err != nil || out.String() != want {
				t.Fatalf("from the environment: %v\n%s", err, out.String())
			}
		})
		t.Run("final state, json", func(t *testing.T) {
			t.Parallel()
			rooms := rpLines[rpRoomJSON](t, rpMust(t, args("-format", "json")...))
			entered := map[string]uint64{"ann-id": 31, "bob-id": 33, "cat-id": 36}
			if len(rooms) != 2 || rooms[0].Room != "chat" || rooms[1].Room != "ops" {
				t.Fatalf("rooms %+v, want chat and ops", rooms)
			}
			for _, r := range rooms {
				seen := st.seen[36][r.Room]
				for _, p := range r.Users {
					if p.Entered != entered[p.User.ID] || p.Sockets != 1 || p.LeftAt != 0 {
						t.Errorf("room %s: %+v, want entered at %d with 1 socket", r.Room, p, entered[p.User.ID])
					}
				}
				if r.Seq != 36 || !reflect.DeepEqual(r.users(), seen.users) || r.Sockets != seen.sockets || !reflect.DeepEqual(r.Messages, seen.msgs) {
					t.Errorf("room %s: got %+v\nwant users %v, %d sockets, messages %+v", r.Room, r, seen.users, seen.sockets, seen.msgs)
				}
			}
		})
		t.Run("until a seq: what the clients saw then", func(t *testing.T) {
			t.Parallel()
			for _, seq := range []uint64{17, 19, 22, 28} {
				want := rpStateText(seq, st.seen[seq], "chat", "ops")
				if got := rpMust(t, args("-until", fmt.Sprint(seq))...); got != want {
					t.Errorf("-until %d: got\n%s\nwant\n%s", seq, got, want)
				}
			}
			for _, r := range rpLines[rpRoomJSON](t, rpMust(t, args("-until", "19", "-format", "json")...)) {
				if seen := st.seen[19][r.Room]; r.Seq != 19 || !reflect.DeepEqual(r.Messages, seen.msgs) || !reflect.DeepEqual(r.users(), seen.users) || r.Sockets != seen.sockets {
					t.Errorf("-until 19, room %s: %+v\nwant messages %+v, users %v", r.Room, r, seen.msgs, seen.users)
				}
			}
			// Past the end: the state after the last action.
			if got, want := rpMust(t, args("-until", "1000")...), rpStateText(36, st.seen[36], "chat", "ops"); got != want {
				t.Errorf("-until 1000: got\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("until a time", func(t *testing.T) {
			t.Parallel()
			back := st.seen[17]["chat"].msgs[2] // "back", seq 17
			want := rpStateText(17, st.seen[17], "chat", "ops")
			for _, at := range []string{back.At.Format(time.RFC3339Nano), back.At.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)} {
				if got := rpMust(t, args("-until-time", at)...); got != want {
					t.Errorf("-until-time %s: got\n%s\nwant\n%s", at, got, want)
				}
			}
			// The time column of a listing, pasted as it is.
			listing := rpMust(t, args("-type", "message/write", "-room", "chat")...)
			_, line, _ := strings.Cut(listing, "\n      17  ")
			if got := rpMust(t, args("-until-time", rpTimeColumn.FindString(line))...); got != want {
				t.Errorf("-until-time from the listing's line %q: got\n%s\nwant\n%s", line, got, want)
			}
			first := st.log[0].At.Add(-time.Nanosecond).Format(time.RFC3339Nano)
			if got := rpMust(t, args("-until-time", first)...); got != "state after seq 0\n" {
				t.Errorf("-until-time before the first action: %q", got)
			}
			// Whichever limit comes first.
			if got, want := rpMust(t, args("-until-time", back.At.Format(time.RFC3339Nano), "-until", "13", "-room", "ops")...), rpStateText(13, st.seen[17], "ops"); got != want {
				t.Errorf("-until 13 before -until-time: got\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("room", func(t *testing.T) {
			t.Parallel()
			if got, want := rpMust(t, args("-room", "ops")...), rpStateText(36, st.seen[36], "ops"); got != want {
				t.Errorf("-room ops: got\n%s\nwant\n%s", got, want)
			}
			if got, want := rpMust(t, args("-room", "ops", "-until", "22")...), rpStateText(22, st.seen[22], "ops"); got != want {
				t.Errorf("-room ops -until 22: got\n%s\nwant\n%s", got, want)
			}
			rooms := rpLines[rpRoomJSON](t, rpMust(t, args("-room", "chat", "-format", "json")...))
			if len(rooms) != 1 || rooms[0].Room != "chat" || !reflect.DeepEqual(rooms[0].Messages, st.seen[36]["chat"].msgs) {
				t.Errorf("-room chat -format json: %+v", rooms)
			}
			if got, want := rpMust(t, args("-room", "lobby")...), "state after seq 36\n\nroom lobby: nothing happened in it\n"; got != want {
				t.Errorf("-room lobby: got %q, want %q", got, want)
			}
		})
		t.Run("type message/write", func(t *testing.T) {
			t.Parallel()
			want := `       6  <at>  message/write    room=chat user=ann-id message="hi bob"
       7  <at>  message/write    room=chat user=bob-id message="hi ann"
      12  <at>  message/write    room=ops user=cat-id message="deploy at 5"
      13  <at>  message/write    room=ops user=dan-id message="ok"
      17  <at>  message/write    room=chat user=ann-id message="back"
      18  <at>  message/write    room=chat user=bob-id message="one"
      19  <at>  message/write    room=chat user=bob-id message="two"
      22  <at>  message/write    room=ops user=cat-id message="bye dan"
      34  <at>  message/write    room=chat user=bob-id message="welcome back"
`
			if got := st.mask(t, rpMust(t, args("-type", "message/write")...)); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			// One object per line, every one an action: jq .payload.Message
			// gives the texts.
			lines := rpLines[map[string]any](t, rpMust(t, args("-type", "message/write", "-room", "chat", "-until", "19", "-format", "json")...))
			var got []string
			for _, l := range lines {
				p, _ := l["payload"].(map[string]any)
				got = append(got, fmt.Sprintf("%v %v %v %v %v", l["seq"], l["type"], l["room"], l["user"], p["Message"]))
				seq := int(l["seq"].(float64))
				if l["id"] != st.log[seq-1].ID || l["session"] != st.log[seq-1].Session || l["at"] != st.log[seq-1].At.Format(time.RFC3339Nano) {
					t.Errorf("line %v: not the action in the log, %+v", l, st.log[seq-1])
				}
			}
			wantJSON := []string{"6 message/write chat ann-id hi bob", "7 message/write chat bob-id hi ann", "17 message/write chat ann-id back", "18 message/write chat bob-id one", "19 message/write chat bob-id two"}
			if !slices.Equal(got, wantJSON) {
				t.Errorf("json: got %q, want %q", got, wantJSON)
			}
		})
		t.Run("user", func(t *testing.T) {
			t.Parallel()
			want := `       5  <at>  session/connect  room=chat user=bob-id username="bob"
       7  <at>  message/write    room=chat user=bob-id message="hi ann"
      18  <at>  message/write    room=chat user=bob-id message="one"
      19  <at>  message/write    room=chat user=bob-id message="two"
      23  <at>  session/close    room=chat user=bob-id
      24  <at>  presence/expire  room=chat user=bob-id since=23
      33  <at>  session/connect  room=chat user=bob-id username="bob"
      34  <at>  message/write    room=chat user=bob-id message="welcome back"
`
			if got := st.mask(t, rpMust(t, args("-user", "bob-id")...)); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if got := rpMust(t, args("-user", "bob-id", "-room", "ops")...); got != "" {
				t.Errorf("-user bob-id -room ops: %q, want nothing", got)
			}
		})
		t.Run("diff", func(t *testing.T) {
			t.Parallel()
			// ann: she enters, writes, reloads (her socket closes and another
			// connects: she never leaves the list), leaves past the grace,
			// and comes back after the restart.
			want := `       3  <at>  session/connect  room=chat user=ann-id username="ann"
          + user ann-id (ann) entered the user list
          + socket s1 connected as ann-id
       6  <at>  message/write    room=chat user=ann-id message="hi bob"
          + message 6 ann: "hi bob"
      15  <at>  session/close    room=chat user=ann-id
          - socket s1 of ann-id closed
      16  <at>  session/connect  room=chat user=ann-id username="ann"
          + socket s5 connected as ann-id
      17  <at>  message/write    room=chat user=ann-id message="back"
          + message 17 ann: "back"
      25  <at>  session/close    room=chat user=ann-id
          - socket s5 of ann-id closed
      26  <at>  presence/expire  room=chat user=ann-id since=25
          - user ann-id (ann) left the user list
      31  <at>  session/connect  room=chat user=ann-id username="ann"
          + user ann-id (ann) entered the user list
          + socket s6 connected as ann-id
`
			if got := st.mask(t, rpMust(t, args("-diff", "-user", "ann-id")...)); got != want {
				t.Errorf("-diff -user ann-id: got\n%s\nwant\n%s", got, want)
			}
			want = `      18  <at>  message/write    room=chat user=bob-id message="one"
          + message 18 bob: "one"
      19  <at>  message/write    room=chat user=bob-id message="two"
          + message 19 bob: "two"
          - the oldest message left the window
      20  <at>  session/close    room=ops user=dan-id
          - socket s4 of dan-id closed
      21  <at>  presence/expire  room=ops user=dan-id since=20
          - user dan-id (dan) left the user list
      22  <at>  message/write    room=ops user=cat-id message="bye dan"
          + message 22 cat: "bye dan"
      23  <at>  session/close    room=chat user=bob-id
          - socket s2 of bob-id closed
      24  <at>  presence/expire  room=chat user=bob-id since=23
          - user bob-id (bob) left the user list
      25  <at>  session/close    room=chat user=ann-id
          - socket s5 of ann-id closed
      26  <at>  presence/expire  room=chat user=ann-id since=25
          - user ann-id (ann) left the user list
      27  <at>  session/close    room=ops user=cat-id
          - socket s3 of cat-id closed
      28  <at>  presence/expire  room=ops user=cat-id since=27
          - user cat-id (cat) left the user list
      29  <at>  server/start     room= user=
          (no visible change)
      30  <at>  session/open     room=chat user=
          (no visible change)
`
			// -diff with every action after 17 up to 30.
			got := st.mask(t, rpMust(t, args("-diff", "-until", "30")...))
			if _, after, _ := strings.Cut(got, "\n      18  "); "      18  "+after != want {
				t.Errorf("-diff -until 30, from seq 18: got\n%s\nwant\n%s", got, want)
			}
			// The same changes in JSON.
			changes := map[float64]map[string]any{}
			for _, l := range rpLines[map[string]any](t, rpMust(t, args("-diff", "-format", "json", "-until", "22")...)) {
				changes[l["seq"].(float64)], _ = l["change"].(map[string]any)
			}
			js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
			for seq, want := range map[float64]string{
				2:  `{}`,
				9:  `{"connected":{"id":"` + st.log[7].Session + `","userId":"cat-id","username":"cat","isEstablishingConnection":false,"isConnected":true},"entered":{"id":"cat-id","username":"cat"}}`,
				16: `{"connected":{"id":"` + st.log[13].Session + `","userId":"ann-id","username":"ann","isEstablishingConnection":false,"isConnected":true}}`,
				19: `{"appended":[` + js(st.seen[19]["chat"].msgs[3]) + `],"dropped":1}`,
				21: `{"left":{"id":"dan-id","username":"dan"}}`,
			} {
				var w map[string]any
				if err := json.Unmarshal([]byte(want), &w); err != nil {
					t.Fatal(err)
				}
				if got := changes[seq]; !reflect.DeepEqual(got, w) {
					t.Errorf("change of seq %v: got %s\nwant %s", seq, js(got), want)
				}
			}
			if len(changes) != 22 {
				t.Errorf("-diff -until 22 listed %d actions, want 22", len(changes))
			}
		})
		t.Run("verify", func(t *testing.T) {
			t.Parallel()
			snaps := rpSnapshots(t, dir)
			// Every 5 actions unless one is being written, at most 3 kept.
			if len(snaps) < 2 || len(snaps) > 3 || snaps[len(snaps)-1] != 28 {
				t.Fatalf("snapshots %v, want 2 or 3, the last at seq 28 (the shutdown)", snaps)
			}
			var want strings.Builder
			for _, s := range snaps {
				fmt.Fprintf(&want, "snapshot %d: equal to the state rebuilt from the log\n", s)
			}
			fmt.Fprintf(&want, "verified %d snapshots\n", len(snaps))
			if got := rpMust(t, args("-verify")...); got != want.String() {
				t.Errorf("-verify: got\n%s\nwant\n%s", got, want.String())
			}
			// Without the server's -history 4, "hi bob" stays in the window
			// after seq 19: the first snapshot from seq 19 on differs.
			i := slices.IndexFunc(snaps, func(s uint64) bool { return s >= 19 })
			agreed := uint64(0)
			want.Reset()
			for _, s := range snaps[:i] {
				fmt.Fprintf(&want, "snapshot %d: equal to the state rebuilt from the log\n", s)
				agreed = s
			}
			got, err := rpReplay(t, "-data", dir, "-verify") // -history 1000
			wantErr := fmt.Sprintf("snapshot %d differs from the state rebuilt from the log: they agree at seq %d and first differ after it, at or before seq %d (a reducer that is not deterministic, or a -history other than the server's)", snaps[i], agreed, snaps[i])
			if err == nil || err.Error() != wantErr || got != want.String() {
				t.Errorf("-verify -history 1000: error %v\nwant %s\ngot\n%s\nwant\n%s", err, wantErr, got, want.String())
			}
			// A window of 3 differs from seq 18 on.
			i = slices.IndexFunc(snaps, func(s uint64) bool { return s >= 18 })
			if _, err := rpReplay(t, "-data", dir, "-history", "3", "-verify"); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("snapshot %d differs ", snaps[i])) {
				t.Errorf("-verify -history 3: error %v, want snapshot %d to differ", err, snaps[i])
			}
		})
		t.Run("verify, log shorter than a snapshot", func(t *testing.T) {
			t.Parallel()
			// A copy of the directory whose log lost its records from seq 28
			// on (a log restored from an older backup, beside newer
			// snapshots): cut in the middle of record 28.
			lost := t.TempDir()
			for name := range before {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err == nil {
					err = os.MkdirAll(filepath.Dir(filepath.Join(lost, name)), 0o755)
				}
				if err == nil {
					err = os.WriteFile(filepath.Join(lost, name), b, 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			seg := filepath.Join(lost, "log", fmt.Sprintf("%020d.seg", 1))
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			off := 24 // the segment header; then length, CRC, payload
			for range 27 {
				off += 8 + int(binary.LittleEndian.Uint32(b[off:]))
			}
			if err := os.Truncate(seg, int64(off+5)); err != nil {
				t.Fatal(err)
			}
			out, err := rpReplay(t, "-data", lost, "-history", "4", "-verify")
			if err == nil || err.Error() != "snapshot 28: the log ends at seq 27, before the snapshot" {
				t.Errorf("-verify: error %v\n%s", err, out)
			}
			// cat's socket closed at 27; her grace had not run out.
			ops := st.seen[28]["ops"]
			ops.users = []actions.User{{ID: "cat-id", Username: "cat"}}
			want := strings.Replace(rpStateText(27, map[string]rpRoom{"ops": ops}, "ops"), "cat (cat-id)", "cat (cat-id) [in grace since seq 27]", 1)
			if got := rpMust(t, "-data", lost, "-history", "4", "-room", "ops"); got != want {
				t.Errorf("the shortened log: got\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("progress", func(t *testing.T) {
			t.Parallel()
			plain := rpMust(t, args("-until", "19")...)
			for _, mode := range []string{"auto", "off", "on"} {
				var out, errOut bytes.Buffer
				if err := replayTo(context.Background(), args("-until", "19", "-progress", mode), nil, &out, &errOut); err != nil {
					t.Fatal(err)
				}
				if out.String() != plain {
					t.Errorf("-progress %s changed standard output:\n%s", mode, out.String())
				}
				// on: drawn at the first action (2 of 40 marks for 1/19),
				// erased at the end; otherwise nothing, not a terminal.
				want := ""
				if mode == "on" {
					want = "\r[##" + strings.Repeat(".", 38) + "] 1/19\r\033[K"
				}
				if errOut.String() != want {
					t.Errorf("-progress %s: standard error %q, want %q", mode, errOut.String(), want)
				}
			}
			var errOut bytes.Buffer
			if err := replayTo(context.Background(), args("-verify", "-progress", "on"), nil, &bytes.Buffer{}, &errOut); err != nil || !strings.HasPrefix(errOut.String(), "\r[") || !strings.HasSuffix(errOut.String(), "] 1/36\r\033[K") {
				t.Errorf("-verify -progress on: %v, standard error %q", err, errOut.String())
			}
		})
	})

	if after := rpHashes(t, dir); !reflect.DeepEqual(after, before) {
		t.Fatalf("replay changed the data directory of the running server:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := file.Open(dir, file.Options{}); err == nil {
		t.Fatal("the server no longer holds the lock of its directory")
	}
	// The server goes on, and replay sees what happens next.
	st.bob.send(map[string]any{"event": "writeMessage", "message": "still here"})
	msgs := rpField[[]actions.Message](t, st.ann.expect("messageWritten"), "messagesList")
	last := msgs[len(msgs)-1]
	out := rpMust(t, args("-room", "chat")...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	tail := lines[len(lines)-1]
	if last.Seq != 37 || !strings.HasPrefix(out, "state after seq 37\n") || !strings.HasPrefix(tail, fmt.Sprintf("  %8d  ", last.Seq)) || !strings.HasSuffix(tail, "  bob: still here") {
		t.Fatalf("after seq 37: got\n%s\nwant it to end with seq %d's line by bob", out, last.Seq)
	}
}

// A live server keeps appending and snapshotting (and removing old
// snapshots) while replay reads: every run must succeed and see a prefix
// of the log, whole.
func TestReplayWhileServerWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// ann writes as fast as the server answers: far above the rate limits.
	s := startServer(t, "-data", dir, "-snapshot-every", "2", "-fsync", "off", "-history", "20", "-rate", "0", "-rate-per-address", "0")
	ann, _ := s.join("/chat", "ann-id", "ann")
	// The writer sends bursts of 10 messages, then reads the 10 echoes,
	// until stop; done is closed when it ends, writeErr says why if early.
	var count atomic.Int64
	var writeErr error
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := int(count.Load())
			for i := range 10 {
				ann.send(map[string]any{"event": "writeMessage", "message": fmt.Sprint(n + i)})
			}
			for range 10 {
				e, err := ann.next(5 * time.Second)
				if err == nil && e.str("event") != "messageWritten" {
					err = fmt.Errorf("got %v", e)
				}
				if err != nil {
					writeErr = err
					return
				}
			}
			count.Add(10)
		}
	}()
	// check replays the directory: the state must hold a whole window of
	// messages (message i has seq i+4), and every snapshot must agree.
	check := func(n int) {
		t.Helper()
		rooms := rpLines[rpRoomJSON](t, rpMust(t, "-data", dir, "-history", "20", "-format", "json"))
		r := rooms[0]
		for i, m := range r.Messages {
			if m.Message != fmt.Sprint(m.Seq-4) || i > 0 && m.Seq != r.Messages[i-1].Seq+1 || m.Seq > r.Seq {
				t.Fatalf("after seq %d, message %d is %+v", r.Seq, i, m)
			}
		}
		if last := len(r.Messages) - 1; n >= 0 && (last != min(n, 20)-1 || r.Messages[last].Message != fmt.Sprint(n-1)) {
			t.Fatalf("replay shows %d messages up to %+v, want the last 20 of the %d written", last+1, r.Messages[last], n)
		}
		if out, err := rpReplay(t, "-data", dir, "-history", "20", "-verify"); err != nil || !regexp.MustCompile(`(^|\n)verified \d+ snapshots\n$|^no snapshots to verify against\n$`).MatchString(out) {
			t.Fatalf("-verify: %v\n%s", err, out)
		}
	}
	var once sync.Once
	stopWriting := func() (int, error) {
		once.Do(func() { close(stop) })
		<-done
		return int(count.Load()), writeErr
	}
	defer stopWriting()
	for count.Load() < 200 { // a log long enough to take a while to read
		select {
		case <-done:
			t.Fatalf("the writer stopped after %d messages: %v", count.Load(), writeErr)
		case <-time.After(time.Millisecond):
		}
	}
	for range 20 {
		check(-1)
	}
	n, err := stopWriting()
	if err != nil {
		t.Fatalf("the writer stopped after %d messages: %v", n, err)
	}
	check(n)
	t.Logf("%d messages written while replay ran", n)
}

// A connect names the id it claims; when the claim is refused (the id is
// bound to another client's token), the socket gets a fresh id. -user finds
// the connect under both, and the listing says which id the socket got.
func TestReplayRefusedClaim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "-data", dir, "-fsync", "off")
	ann := s.dial("/chat") // 2-3: a strict claim, which binds ann-id to ann's new token
	ann.send(map[string]any{"event": "connecting", "id": "ann-id", "username": "ann", "token": "ann's old token"})
	if e := ann.expect("connected"); e.str("id") != "ann-id" || e.str("token") == "" {
		t.Fatalf("ann: %v", e)
	}
	mal, e := s.join("/chat", "ann-id", "mallory") // 4-5: a plain claim of a bound id
	got := e.str("id")
	if got == "" || got == "ann-id" {
		t.Fatalf("mallory got id %q", got)
	}
	mal.send(map[string]any{"event": "writeMessage", "message": "i am ann"}) // 6
	mal.expect("messageWritten")
	st := &rpStory{log: rpReadLog(t, dir), socket: map[string]string{}}
	refused := `       5  <at>  session/connect  room=chat user=ann-id username="mallory" (claim refused: the socket got ` + got + ")\n"
	for user, want := range map[string]string{
		"ann-id": `       3  <at>  session/connect  room=chat user=ann-id username="ann"` + "\n" + refused,
		got:      refused + `       6  <at>  message/write    room=chat user=` + got + ` message="i am ann"` + "\n",
	} {
		if out := st.mask(t, rpMust(t, "-data", dir, "-user", user)); out != want {
			t.Errorf("-user %s: got\n%s\nwant\n%s", user, out, want)
		}
	}
	lines := rpLines[map[string]any](t, rpMust(t, "-data", dir, "-type", "session/connect", "-format", "json"))
	if len(lines) != 2 || lines[0]["granted"] != nil || lines[1]["user"] != "ann-id" || lines[1]["granted"] != got {
		t.Errorf("json: %v", lines)
	}
}

// A server with -prune removes the log segments that its snapshots cover:
// replay then starts from the oldest snapshot that the log continues.
func TestReplayPrunedLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	flog, err := file.Open(dir, file.Options{SegmentSize: 300, Prune: true, KeepSnapshots: 2, Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	reduce := chat.NewReducer(chat.Options{History: 3})
	st, err := store.Open(ctx, chat.State{}, reduce, store.Options[chat.State]{Log: flog})
	if err != nil {
		t.Fatal(err)
	}
	// Snapshots at seqs 20, 30 and 42, as the server would write them: the
	// last two are kept, and the segments before seq 30 go.
	snapshot := func() {
		data, err := chat.Codec{}.Encode(st.GetState())
		if err == nil {
			err = flog.SaveSnapshot(st.Seq(), data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	dispatch := func(a *actions.Action) {
		a.Room, a.Session, a.At = "chat", "s1", at.Add(time.Duration(st.Seq())*time.Second)
		if err := st.Dispatch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	dispatch(&actions.Action{Type: actions.TypeOpenSession})
	dispatch(&actions.Action{Type: actions.TypeConnect, User: "u1", Payload: actions.Connect{Username: "ann"}})
	for i := range 40 {
		dispatch(&actions.Action{Type: actions.TypeWriteMessage, User: "u1", Payload: actions.WriteMessage{Message: fmt.Sprint("m", i)}})
		if seq := st.Seq(); seq == 20 || seq == 30 || seq == 42 {
			snapshot()
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	snaps := rpSnapshots(t, dir)
	l, _ := file.Open(dir, file.Options{ReadOnly: true})
	first := l.FirstSeq()
	l.Close()
	if first <= 1 || first > 31 || !slices.Equal(snaps, []uint64{30, 42}) {
		t.Fatalf("the log starts at seq %d, snapshots %v: not pruned as planned", first, snaps)
	}

	var out, errOut bytes.Buffer
	if err := replayTo(ctx, []string{"-data", dir, "-history", "3"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	want := "state after seq 42\n\nroom chat: 1 users, 1 open sockets, 3 messages\n  users: ann (u1)\n"
	for seq := uint64(40); seq <= 42; seq++ {
		want += fmt.Sprintf("  %8d  %s  ann: m%d\n", seq, at.Add(time.Duration(seq-1)*time.Second).Format(time.RFC3339), seq-3)
	}
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	note := fmt.Sprintf("statecast replay: the log before seq %d was pruned; starting from the snapshot at seq %d\n", snaps[0]+1, snaps[0])
	if errOut.String() != note {
		t.Errorf("standard error %q, want %q", errOut.String(), note)
	}
	got, _, err := rpRun("-data", dir, "-history", "3", "-verify")
	wantVerify := fmt.Sprintf("snapshot %d: the starting point, the log before it was pruned\nsnapshot 42: equal to the state rebuilt from the log\nverified 1 snapshots\n", snaps[0])
	if err != nil || got != wantVerify {
		t.Errorf("-verify: %v\n%s\nwant\n%s", err, got, wantVerify)
	}
	for _, limit := range [][]string{{"-until", "2"}, {"-until-time", at.Format(time.RFC3339)}} {
		if _, _, err := rpRun(append([]string{"-data", dir}, limit...)...); err == nil || !strings.Contains(err.Error(), "was pruned") {
			t.Errorf("%v on a pruned log: %v", limit, err)
		}
	}
}

func TestReplayBadArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"until not a number", []string{"-until", "abc"}, nil, `-until "abc": want a seq (a positive integer)`},
		{"until zero", []string{"-until", "0"}, nil, `-until "0": want a seq (a positive integer)`},
		{"until-time not a time", []string{"-until-time", "yesterday"}, nil, `-until-time "yesterday": want RFC 3339, like 2026-11-25T18:00:00Z`},
		{"format xml", []string{"-format", "xml"}, nil, `-format "xml": want text or json`},
		{"progress", []string{"-progress", "sometimes"}, nil, `-progress "sometimes": want auto, on or off`},
		{"history", []string{"-history", "0"}, nil, `-history must be at least 1`},
		{"extra argument", []string{"chat"}, nil, `unexpected arguments: [chat]`},
		{"unknown flag", []string{"-bogus"}, nil, `flag provided but not defined: -bogus`},
		{"bad environment", nil, []string{"STATECAST_HISTORY=many"}, `STATECAST_HISTORY: parse error`},
		{"missing data directory", []string{"-data", missing}, nil, "data directory: stat " + missing + ": no such file or directory"},
		{"data is a file", []string{"-data", notDir}, nil, "data directory " + notDir + ": not a directory"},
		{"not a data directory", []string{"-data", dir}, nil, "data directory " + dir + " holds no action log (stat " + filepath.Join(dir, "log") + ": no such file or directory); is it the server's -data?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := replayTo(context.Background(), tc.args, tc.env, &out, &errOut)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if out.Len() > 0 {
				t.Errorf("standard output %q", out.String())
			}
			// The flag package explains its own errors with the usage, on
			// standard error; main prints the error after it.
			if usage := strings.Contains(errOut.String(), "usage: statecast replay"); usage != (tc.name == "unknown flag") {
				t.Errorf("standard error %q", errOut.String())
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		var errOut bytes.Buffer
		if err := replayTo(context.Background(), []string{"-h"}, nil, &bytes.Buffer{}, &errOut); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "-until-time time") {
			t.Fatalf("-h: %v\n%s", err, errOut.String())
		}
	})
	t.Run("through Run", func(t *testing.T) {
		t.Parallel()
		if err := Run(context.Background(), []string{"replay", "-data", missing}, nil); err == nil || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("statecast replay -data %s: %v", missing, err)
		}
	})
}

// -progress auto draws the bar only for a long log, on a terminal, and not
// when the listing goes to the same terminal.
func TestReplayProgressAuto(t *testing.T) {
	t.Parallel()
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	regular, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	var tty *os.File
	if f, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil { // the master side of a new pseudo-terminal
		defer f.Close()
		tty = f
	}
	for _, tc := range []struct {
		name    string
		mode    string
		total   uint64
		w       *os.File
		listing bool
		want    bool
	}{
		{"pipe", "auto", progressAuto, pipeW, false, false},
		{"file", "auto", progressAuto, regular, false, false},
		{"terminal", "auto", progressAuto, tty, false, true},
		{"terminal, short log", "auto", progressAuto - 1, tty, false, false},
		{"terminal, listing to it", "auto", progressAuto, tty, true, false},
		{"terminal, off", "off", progressAuto, tty, false, false},
		{"pipe, on", "on", 1, pipeW, true, true},
	} {
		if tc.w == nil {
			t.Logf("%s: no pseudo-terminal here", tc.name)
			continue
		}
		if got := newProgress(tc.mode, tc.total, tc.w, tc.listing).w != nil; got != tc.want {
			t.Errorf("%s: bar %v, want %v", tc.name, got, tc.want)
		}
	}
}
