package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

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
	c := replay.Config{NATS: url, Stream: stream}
	note := "statecast replay: stream limited holds no records before seq 3: they were removed, and a stream has no snapshots; replaying from seq 3 on an empty state, which lacks whatever the removed actions did\n"
	// ann's write (3) finds no socket of hers: only bob is there.
	out, errOut, err := rpRun(c)
	if want := "state after seq 5\n\nroom chat: 1 users, 1 open sockets, 0 messages\n  users: bob (u2)\n"; err != nil || out != want || errOut != note {
		t.Errorf("replay: %v\n%s\n%q\nwant\n%s\n%q", err, out, errOut, want, note)
	}
	opens := c
	opens.Filter.Type = "session/open"
	out, _, err = rpRun(opens)
	if want := "       4  2026-11-25T18:00:03.000000000Z  session/open     room=chat user= node=n1\n"; err != nil || out != want {
		t.Errorf("type session/open: %v\n%s\nwant\n%s", err, out, want)
	}
	gone := "stream limited holds no records before seq 3 (they were removed) and no snapshots: replay cannot rebuild the state before them"
	for _, tc := range []struct {
		until replay.Until
		want  string
	}{
		{replay.Until{Seq: 2}, "until seq 2: " + gone},
		{replay.Until{Seq: 1}, "until seq 1: " + gone},
		{replay.Until{Time: at.Add(time.Second)}, "until 2026-11-25T18:00:01Z: " + gone},
	} {
		limited := c
		limited.Until = tc.until
		var le *replay.LimitError
		if _, _, err := rpRun(limited); !errors.As(err, &le) || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %s", tc.until, err, tc.want)
		}
	}
	c.Until.Seq = 3
	if out, _, err := rpRun(c); err != nil || out != "state after seq 3\n" {
		t.Errorf("until 3: %v\n%s", err, out)
	}
}

// The listing of the actions of cluster mode: session/open names its node,
// node/down the node that is gone, and a diff shows, room by room, the
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
		return fmt.Sprintf("%8d  %s  %s\n", seq, at.Add(time.Duration(seq-1)*time.Second).Format(replay.TimeColumn), rest)
	}
	for _, tc := range []struct {
		c    replay.Config
		want string
	}{
		{replay.Config{Filter: replay.Filter{Type: "session/open"}}, line(1, "session/open     room=chat user= node=n1") + line(3, "session/open     room=ops user= node=n1") +
			line(5, "session/open     room=ops user= node=n2") + line(7, "session/open     room=ops user= node=n1") + line(8, "session/open     room=chat user=")},
		{replay.Config{Filter: replay.Filter{Type: "node/down"}, Diff: true}, line(9, "node/down        room= user= node=n1") +
			"          room chat: - socket s1 of u1 closed\n" +
			"          room chat: - user u1 (ann) left the user list\n" +
			"          room ops: - socket s2 of u2 closed\n" +
			"          room ops: - user u2 (bob) left the user list\n" +
			line(10, "node/down        room= user= node=n1") +
			"          (no visible change)\n"},
		// A room: the node/down that changed the room, and only its steps
		// there; not the repeat, which changed nothing.
		{replay.Config{Diff: true, Filter: replay.Filter{Room: "ops", Type: "node/down"}}, line(9, "node/down        room= user= node=n1") +
			"          room ops: - socket s2 of u2 closed\n" +
			"          room ops: - user u2 (bob) left the user list\n"},
		{replay.Config{Filter: replay.Filter{Room: "chat", Type: "node/down"}}, line(9, "node/down        room= user= node=n1")},
		{replay.Config{Diff: true, Filter: replay.Filter{Type: "session/open", Room: "chat"}}, line(1, "session/open     room=chat user= node=n1") + "          (no visible change)\n" +
			line(8, "session/open     room=chat user=") + "          (no visible change)\n"},
		{replay.Config{}, "state after seq 10\n\nroom chat: 0 users, 1 open sockets, 0 messages\n  users: (none)\n\nroom ops: 1 users, 1 open sockets, 0 messages\n  users: cat (u3)\n"},
	} {
		tc.c.Dir = dir
		if got := rpMust(t, tc.c); got != tc.want {
			t.Errorf("%+v: got\n%s\nwant\n%s", tc.c, got, tc.want)
		}
	}

	// JSON: the node is a field of the line, as seq, room and user are.
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	var got []string
	for _, l := range rpLines[map[string]any](t, rpMust(t, replay.Config{Dir: dir, Diff: true, Format: replay.JSON, Until: replay.Until{Seq: 10}})) {
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
		t.Errorf("diff, json:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// Without a diff, no change at all; the payload's node is the line's.
	lines := rpLines[map[string]any](t, rpMust(t, replay.Config{Dir: dir, Filter: replay.Filter{Type: "node/down"}, Format: replay.JSON}))
	if len(lines) != 2 || lines[0]["node"] != "n1" || lines[0]["payload"] != nil || lines[0]["changes"] != nil || lines[0]["change"] != nil {
		t.Errorf("type node/down, json: %v", lines)
	}
}
