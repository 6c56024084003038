package main

// Tests of `statecast replay -nats`: the log of a cluster, a JetStream
// stream that real nodes wrote while real clients chatted, must replay
// exactly as the same actions do from a file log. And the printing of the
// cluster's actions: session/open with a node, node/down.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

// rnOpen opens the stream on url as a node would (creating it if need
// be); the Log is closed when the test ends.
func rnOpen(t *testing.T, url, stream string) *nats.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := nats.Open(ctx, nats.Options{URLs: url, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// rnReadAll returns every action of l.
func rnReadAll(t *testing.T, l store.Log) []*actions.Action {
	t.Helper()
	var all []*actions.Action
	err := l.Read(context.Background(), 1, func(a *actions.Action) error {
		c := *a
		all = append(all, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// rnCopyToFile writes the actions into a new file log and returns its
// directory: the same log as replay's -data reads it.
func rnCopyToFile(t *testing.T, all []*actions.Action) string {
	t.Helper()
	dir := t.TempDir()
	flog, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]*actions.Action, len(all))
	for i, a := range all {
		c := *a
		batch[i] = &c
	}
	if err := flog.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, a := range batch {
		if a.Seq != all[i].Seq {
			t.Fatalf("the file log gave action %d seq %d, the stream %d: the stream has a gap", i, a.Seq, all[i].Seq)
		}
	}
	if err := flog.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rnGhost appends, as a node "ghost" that then died without a word would
// have, a socket of gus in room chat that connects and writes.
func rnGhost(t *testing.T, l *nats.Log) {
	t.Helper()
	session := uuid.NewString()
	var batch []*actions.Action
	add := func(typ, user string, payload any) {
		batch = append(batch, &actions.Action{ID: uuid.NewString(), Type: typ, Room: "chat", Session: session, User: user, At: time.Now().UTC(), Payload: payload})
	}
	add(actions.TypeOpenSession, "", actions.Open{Node: "ghost"})
	add(actions.TypeConnect, "gus-id", actions.Connect{Username: "gus", Fallback: uuid.NewString()})
	add(actions.TypeWriteMessage, "gus-id", actions.WriteMessage{Message: "boo"})
	for _, a := range batch { // one at a time, as a node dispatches them
		if err := l.Append(context.Background(), []*actions.Action{a}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplayNATS: two nodes on one NATS server, node-a and node-b, share
// the stream "chatlog". ann (on node-a) and bob (on node-b) chat in room
// chat, dave (node-a) and cat (node-b) in room ops; gus, on a node that
// died, shows up in chat and is announced gone by a survivor's node/down;
// node-b stops, and its users, left in their grace periods, go with
// node-b's node/down. Then replay -nats, run with many flags against the
// live stream, must print exactly what replay -data prints for a file log
// holding the same actions.
func TestReplayNATS(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	url, stream := nc.URL(0), "chatlog"
	node := func(id string) *testServer {
		return startServer(t, "-nats", url, "-nats-stream", stream, "-node", id, "-lease", "1s",
			"-grace", "300ms", "-history", "4", "-ping-interval", "1h", "-rate", "0", "-rate-per-address", "0")
	}
	a, b := node("node-a"), node("node-b")
	ann, _ := a.join("/chat", "ann-id", "ann")
	bob, _ := b.join("/chat", "bob-id", "bob")
	ann.expectPresence("joined", "bob-id", "bob")
	dave, _ := a.join("/chat/ops", "dave-id", "dave")
	cat, _ := b.join("/chat/ops", "cat-id", "cat")
	dave.expectPresence("joined", "cat-id", "cat")
	for i, c := range []*client{ann, bob, ann, bob, ann} {
		c.write(fmt.Sprint("chat ", i))
		ann.expectWritten()
		bob.expectWritten()
	}
	cat.write("ops 1")
	dave.expectWritten()
	cat.expectWritten()

	rnGhost(t, rnOpen(t, url, stream))
	for _, c := range []*client{ann, bob} {
		c.expectPresence("joined", "gus-id", "gus")
		c.expectWritten()
		c.expectPresence("disconnected", "gus-id", "gus") // node/down ghost, after the lease
	}
	// bob and cat read, so that node-b's close handshakes end at once.
	for _, c := range []*client{bob, cat} {
		go func() {
			for {
				if _, _, err := c.conn.Read(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	if err := b.stop(); err != nil {
		t.Fatalf("node-b: %v", err)
	}
	ann.expectPresence("disconnected", "bob-id", "bob") // node/down node-b
	dave.expectPresence("disconnected", "cat-id", "cat")
	ann.write("chat alone")
	ann.expectWritten()
	time.Sleep(500 * time.Millisecond) // a late repeat of a node/down, if any

	l := rnOpen(t, url, stream)
	all := rnReadAll(t, l)
	dir := rnCopyToFile(t, all)
	var downs []string
	var write, mid *actions.Action
	for _, a := range all {
		switch {
		case a.Type == actions.TypeNodeDown:
			downs = append(downs, a.Payload.(actions.NodeDown).Node)
		case a.Type == actions.TypeWriteMessage && a.Payload.(actions.WriteMessage).Message == "chat 2":
			write = a
		case a.Type == actions.TypeWriteMessage && a.Payload.(actions.WriteMessage).Message == "ops 1":
			mid = a
		}
	}
	if !slices.Contains(downs, "ghost") || !slices.Contains(downs, "node-b") || write == nil || mid == nil {
		t.Fatalf("the story did not go as planned: node/down for %v, in %d actions", downs, len(all))
	}

	for _, flags := range [][]string{
		nil,
		{"-format", "json"},
		{"-until", fmt.Sprint(write.Seq)},
		{"-until", fmt.Sprint(mid.Seq), "-format", "json"},
		{"-until", "100000"},
		{"-until-time", write.At.Format(time.RFC3339Nano)},
		{"-until-time", all[0].At.Add(-time.Second).Format(time.RFC3339Nano)},
		{"-room", "ops"},
		{"-room", "chat", "-until", fmt.Sprint(mid.Seq)},
		{"-room", "lobby"},
		{"-type", "message/write"},
		{"-type", "node/down", "-format", "json"},
		{"-type", "session/open"},
		{"-user", "ann-id"},
		{"-user", "gus-id", "-diff"},
		{"-diff"},
		{"-diff", "-format", "json"},
		{"-diff", "-room", "ops"},
		{"-diff", "-room", "chat", "-format", "json", "-until", fmt.Sprint(len(all) - 1)},
		{"-verify"},
		{"-until", fmt.Sprint(mid.Seq), "-progress", "on"},
		{"-diff", "-progress", "on"},
	} {
		args := append([]string{"-history", "4"}, flags...)
		want, wantErr, err := rpRun(append([]string{"-data", dir}, args...)...)
		if err != nil {
			t.Fatalf("replay -data %v: %v", flags, err)
		}
		got, gotErr, err := rpRun(append([]string{"-nats", url, "-nats-stream", stream}, args...)...)
		if err != nil {
			t.Errorf("replay -nats %v: %v", flags, err)
			continue
		}
		if got != want || gotErr != wantErr {
			t.Errorf("replay -nats %v: got\n%s\n%q\nwant (replay -data of the same actions)\n%s\n%q", flags, got, gotErr, want, wantErr)
		}
	}

	// What the listing shows of the cluster's actions.
	diff := rpMust(t, "-nats", url, "-nats-stream", stream, "-history", "4", "-diff")
	for _, want := range []string{
		"session/open     room=chat user= node=node-a\n",
		"session/open     room=chat user= node=ghost\n",
		"node/down        room= user= node=ghost\n          room chat: - socket ",
		" of gus-id closed\n          room chat: - user gus-id (gus) left the user list\n",
		"node/down        room= user= node=node-b\n          room chat: - user bob-id (bob) left the user list\n          room ops: - user cat-id (cat) left the user list\n",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("replay -nats -diff does not show %q:\n%s", want, diff)
		}
	}
	// And the state is what ann and dave see.
	final := rpMust(t, "-nats", url, "-nats-stream", stream, "-history", "4")
	for _, want := range []string{"\nroom chat: 1 users, 1 open sockets, 4 messages\n  users: ann (ann-id)\n", "\nroom ops: 1 users, 1 open sockets, 1 messages\n  users: dave (dave-id)\n"} {
		if !strings.Contains(final, want) {
			t.Errorf("the final state lacks %q:\n%s", want, final)
		}
	}
	if last := l.LastSeq(); last != uint64(len(all)) {
		t.Fatalf("the stream grew from %d to %d actions while replay ran: the comparison is void", len(all), last)
	}
}

// Replay only reads: a stream that does not exist is an error naming it
// and the servers, and is not created.
func TestReplayNATSMissingStream(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	url := nc.URL(0)
	js := jetStreamAt(t, url)
	for _, tc := range []struct {
		args   []string
		stream string
	}{
		{[]string{"-nats", url}, "statecast"},
		{[]string{"--nats", url, "--nats-stream", "other", "-diff"}, "other"},
		{[]string{"-nats", url + "," + url, "-nats-stream", "other", "-verify"}, "other"},
	} {
		out, errOut, err := rpRun(tc.args...)
		urls := tc.args[1]
		want := "stream " + tc.stream + " not found on " + urls + ": no action log to replay (replay never creates a stream; is -nats-stream the servers' stream?)"
		if err == nil || err.Error() != want || out != "" || errOut != "" {
			t.Errorf("replay %v: error %v, output %q %q\nwant error %s", tc.args, err, out, errOut, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = js.Stream(ctx, tc.stream)
		cancel()
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("replay %v: after it, stream %s: %v, want not found", tc.args, tc.stream, err)
		}
	}
	// Nobody listening: the error names the URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + ln.Addr().String()
	ln.Close()
	if _, _, err := rpRun("-nats", dead); err == nil || !strings.Contains(err.Error(), dead) {
		t.Errorf("replay -nats %s (nobody listening): %v", dead, err)
	}
	// The environment works as for serve.
	var out strings.Builder
	if err := replayTo(context.Background(), nil, []string{"STATECAST_NATS=" + url, "STATECAST_NATS_STREAM=envstream"}, &out, &strings.Builder{}); err == nil || !strings.HasPrefix(err.Error(), "stream envstream not found on "+url+":") {
		t.Errorf("from the environment: %v", err)
	}
}

// A stream whose first records were removed (by limits set on it; the
// stream a node creates keeps everything): replay says so and starts at
// the first record left.
func TestReplayNATSRemovedRecords(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	url, stream := nc.URL(0), "limited"
	js := jetStreamAt(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{stream + ".actions"}, Storage: jetstream.FileStorage,
		Duplicates: nats.DefaultDuplicates, Metadata: map[string]string{nats.FormatKey: nats.Format},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := rnOpen(t, url, stream)
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	for i, a := range []*actions.Action{
		{Type: actions.TypeOpenSession, Session: "s1", Payload: actions.Open{Node: "n1"}},
		{Type: actions.TypeConnect, Session: "s1", User: "u1", Payload: actions.Connect{Username: "ann", Fallback: "f1"}},
		{Type: actions.TypeWriteMessage, Session: "s1", User: "u1", Payload: actions.WriteMessage{Message: "m3"}},
		{Type: actions.TypeOpenSession, Session: "s2", Payload: actions.Open{Node: "n1"}},
		{Type: actions.TypeConnect, Session: "s2", User: "u2", Payload: actions.Connect{Username: "bob", Fallback: "f2"}},
	} {
		a.ID, a.Room, a.At = fmt.Sprint("id", i+1), "chat", at.Add(time.Duration(i)*time.Second)
		if err := l.Append(ctx, []*actions.Action{a}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(3)); err != nil { // removes seqs 1 and 2
		t.Fatal(err)
	}
	if first := l.FirstSeq(); first != 3 {
		t.Fatalf("the stream starts at seq %d, want 3", first)
	}
	args := []string{"-nats", url, "-nats-stream", stream}
	note := "statecast replay: stream limited holds no records before seq 3: they were removed, and a stream has no snapshots; replaying from seq 3 on an empty state, which lacks whatever the removed actions did\n"
	// ann's write (3) finds no socket of hers: only bob is there.
	out, errOut, err := rpRun(args...)
	if want := "state after seq 5\n\nroom chat: 1 users, 1 open sockets, 0 messages\n  users: bob (u2)\n"; err != nil || out != want || errOut != note {
		t.Errorf("replay: %v\n%s\n%q\nwant\n%s\n%q", err, out, errOut, want, note)
	}
	out, _, err = rpRun(append(args, "-type", "session/open")...)
	if want := "       4  2026-11-25T18:00:03.000000000Z  session/open     room=chat user= node=n1\n"; err != nil || out != want {
		t.Errorf("-type session/open: %v\n%s\nwant\n%s", err, out, want)
	}
	gone := "stream limited holds no records before seq 3 (they were removed) and no snapshots: replay cannot rebuild the state before them"
	for _, tc := range []struct {
		limit []string
		want  string
	}{
		{[]string{"-until", "2"}, "-until 2: " + gone},
		{[]string{"-until", "1"}, "-until 1: " + gone},
		{[]string{"-until-time", at.Add(time.Second).Format(time.RFC3339)}, "-until-time 2026-11-25T18:00:01Z: " + gone},
	} {
		if _, _, err := rpRun(append(args, tc.limit...)...); err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v, want %s", tc.limit, err, tc.want)
		}
	}
	if out, _, err := rpRun(append(args, "-until", "3")...); err != nil || out != "state after seq 3\n" {
		t.Errorf("-until 3: %v\n%s", err, out)
	}
}

// The listing of the actions of cluster mode: session/open names its node,
// node/down the node that is gone, and -diff shows, room by room, the
// sockets a node/down closed and the users who left with them.
func TestReplayClusterActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	flog, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, chat.State{}, chat.NewReducer(chat.Options{}), store.Options[chat.State]{Log: flog})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	for _, a := range []*actions.Action{
		{Type: actions.TypeOpenSession, Room: "chat", Session: "s1", Payload: actions.Open{Node: "n1"}},                 // 1
		{Type: actions.TypeConnect, Room: "chat", Session: "s1", User: "u1", Payload: actions.Connect{Username: "ann"}}, // 2
		{Type: actions.TypeOpenSession, Room: "ops", Session: "s2", Payload: actions.Open{Node: "n1"}},                  // 3
		{Type: actions.TypeConnect, Room: "ops", Session: "s2", User: "u2", Payload: actions.Connect{Username: "bob"}},  // 4
		{Type: actions.TypeOpenSession, Room: "ops", Session: "s3", Payload: actions.Open{Node: "n2"}},                  // 5
		{Type: actions.TypeConnect, Room: "ops", Session: "s3", User: "u3", Payload: actions.Connect{Username: "cat"}},  // 6
		{Type: actions.TypeOpenSession, Room: "ops", Session: "s4", Payload: actions.Open{Node: "n1"}},                  // 7: never connects
		{Type: actions.TypeOpenSession, Room: "chat", Session: "s5", Payload: actions.Open{}},                           // 8: a single server's
		{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "n1"}},                                             // 9
		{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "n1"}},                                             // 10: a repeat
	} {
		a.At = at.Add(time.Duration(st.Seq()) * time.Second)
		if err := st.Dispatch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	line := func(seq int, rest string) string {
		return fmt.Sprintf("%8d  %s  %s\n", seq, at.Add(time.Duration(seq-1)*time.Second).Format(timeColumn), rest)
	}
	data := []string{"-data", dir}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-type", "session/open"}, line(1, "session/open     room=chat user= node=n1") + line(3, "session/open     room=ops user= node=n1") +
			line(5, "session/open     room=ops user= node=n2") + line(7, "session/open     room=ops user= node=n1") + line(8, "session/open     room=chat user=")},
		{[]string{"-type", "node/down", "-diff"}, line(9, "node/down        room= user= node=n1") +
			"          room chat: - socket s1 of u1 closed\n" +
			"          room chat: - user u1 (ann) left the user list\n" +
			"          room ops: - socket s2 of u2 closed\n" +
			"          room ops: - user u2 (bob) left the user list\n" +
			line(10, "node/down        room= user= node=n1") +
			"          (no visible change)\n"},
		// -room: the node/down that changed the room, and only its steps
		// there; not the repeat, which changed nothing.
		{[]string{"-diff", "-room", "ops", "-type", "node/down"}, line(9, "node/down        room= user= node=n1") +
			"          room ops: - socket s2 of u2 closed\n" +
			"          room ops: - user u2 (bob) left the user list\n"},
		{[]string{"-room", "chat", "-type", "node/down"}, line(9, "node/down        room= user= node=n1")},
		{[]string{"-diff", "-type", "session/open", "-room", "chat"}, line(1, "session/open     room=chat user= node=n1") + "          (no visible change)\n" +
			line(8, "session/open     room=chat user=") + "          (no visible change)\n"},
		{nil, "state after seq 10\n\nroom chat: 0 users, 1 open sockets, 0 messages\n  users: (none)\n\nroom ops: 1 users, 1 open sockets, 0 messages\n  users: cat (u3)\n"},
	} {
		if got := rpMust(t, append(data, tc.flags...)...); got != tc.want {
			t.Errorf("%v: got\n%s\nwant\n%s", tc.flags, got, tc.want)
		}
	}

	// JSON: the node is a field of the line, as seq, room and user are.
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	var got []string
	for _, l := range rpLines[map[string]any](t, rpMust(t, append(data, "-diff", "-format", "json", "-until", "10")...)) {
		if seq := l["seq"].(float64); seq == 1 || seq >= 8 {
			delete(l, "at")
			got = append(got, js(l))
		}
	}
	want := []string{
		`{"change":{},"node":"n1","room":"chat","seq":1,"session":"s1","type":"session/open"}`,
		`{"change":{},"room":"chat","seq":8,"session":"s5","type":"session/open"}`,
		`{"changes":[` +
			`{"closed":{"id":"s1","isConnected":true,"isEstablishingConnection":false,"node":"n1","userId":"u1","username":"ann"},"left":{"id":"u1","username":"ann"},"room":"chat"},` +
			`{"closed":{"id":"s2","isConnected":true,"isEstablishingConnection":false,"node":"n1","userId":"u2","username":"bob"},"left":{"id":"u2","username":"bob"},"room":"ops"}` +
			`],"node":"n1","seq":9,"type":"node/down"}`,
		`{"changes":[],"node":"n1","seq":10,"type":"node/down"}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("-diff -format json:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// Without -diff, no change at all; the payload's node is the line's.
	lines := rpLines[map[string]any](t, rpMust(t, append(data, "-type", "node/down", "-format", "json")...))
	if len(lines) != 2 || lines[0]["node"] != "n1" || lines[0]["payload"] != nil || lines[0]["changes"] != nil || lines[0]["change"] != nil {
		t.Errorf("-type node/down -format json: %v", lines)
	}
}

// jetStreamAt connects to the NATS server at url for the test's own
// JetStream requests; the connection closes when the test ends.
func jetStreamAt(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	conn, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
