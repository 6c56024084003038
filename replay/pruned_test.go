package replay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// A server with Prune removes the log segments that its snapshots cover:
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

	out, errOut, err := rpRun(replay.Config{Dir: dir, History: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := "state after seq 42\n\nroom chat: 1 users, 1 open sockets, 3 messages\n  users: ann (u1)\n"
	for seq := uint64(40); seq <= 42; seq++ {
		want += fmt.Sprintf("  %8d  %s  ann: m%d\n", seq, at.Add(time.Duration(seq-1)*time.Second).Format(time.RFC3339), seq-3)
	}
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	note := fmt.Sprintf("statecast replay: the log before seq %d was pruned; starting from the snapshot at seq %d\n", snaps[0]+1, snaps[0])
	if errOut != note {
		t.Errorf("standard error %q, want %q", errOut, note)
	}
	got, _, err := rpRun(replay.Config{Dir: dir, History: 3, Verify: true})
	wantVerify := fmt.Sprintf("snapshot %d: the starting point, the log before it was pruned\nsnapshot 42: equal to the state rebuilt from the log\nverified 1 snapshots\n", snaps[0])
	if err != nil || got != wantVerify {
		t.Errorf("verify: %v\n%s\nwant\n%s", err, got, wantVerify)
	}
	for _, limit := range []replay.Until{{Seq: 2}, {Time: at}} {
		var le *replay.LimitError
		if _, _, err := rpRun(replay.Config{Dir: dir, Until: limit}); !errors.As(err, &le) || le.Until != limit || !strings.Contains(err.Error(), "was pruned") {
			t.Errorf("%+v on a pruned log: %v", limit, err)
		}
	}
}

// A connect names the id it claims; when the claim is refused (the id is
// bound to another client's token), the socket gets a fresh id. A user
// filter finds the connect under both, and the listing says which id the
// socket got.
func TestReplayRefusedClaim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := rpStart(t, dir)
	ann := s.Dial(t, "/chat") // 2-3: a strict claim, which binds ann-id to ann's new token
	ann.Send(map[string]any{"event": "connecting", "id": "ann-id", "username": "ann", "token": "ann's old token"})
	if e := ann.Expect("connected"); e.Str("id") != "ann-id" || e.Str("token") == "" {
		t.Fatalf("ann: %v", e)
	}
	mal, e := s.Join(t, "/chat", "ann-id", "mallory") // 4-5: a plain claim of a bound id
	got := e.Str("id")
	if got == "" || got == "ann-id" {
		t.Fatalf("mallory got id %q", got)
	}
	mal.Say("i am ann") // 6
	mal.Expect("messageWritten")
	st := &rpStory{log: rpReadLog(t, dir), socket: map[string]string{}}
	refused := `       5  <at>  session/connect  room=chat user=ann-id username="mallory" (claim refused: the socket got ` + got + ")\n"
	for user, want := range map[string]string{
		"ann-id": `       3  <at>  session/connect  room=chat user=ann-id username="ann"` + "\n" + refused,
		got:      refused + `       6  <at>  message/write    room=chat user=` + got + ` message="i am ann"` + "\n",
	} {
		if out := st.mask(t, rpMust(t, replay.Config{Dir: dir, Filter: replay.Filter{User: user}})); out != want {
			t.Errorf("user %s: got\n%s\nwant\n%s", user, out, want)
		}
	}
	lines := rpLines[map[string]any](t, rpMust(t, replay.Config{Dir: dir, Filter: replay.Filter{Type: "session/connect"}, Format: replay.JSON}))
	if len(lines) != 2 || lines[0]["granted"] != nil || lines[1]["user"] != "ann-id" || lines[1]["granted"] != got {
		t.Errorf("json: %v", lines)
	}
}
