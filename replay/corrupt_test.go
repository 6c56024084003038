package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// rpChatLog writes a log of 30 actions with a window of 3 messages: ann
// connects in room chat (1-2), bob in room ops (3-4), then each seq from 5
// to 30 is a message "m<seq>", ann's in chat at odd seqs and bob's in ops
// at even ones. Snapshots are taken at seqs 10, 20 and 30. It returns the
// directory.
func rpChatLog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	flog, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, chat.State{}, chat.NewReducer(chat.Options{History: 3}), store.Options[chat.State]{Log: flog})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	dispatch := func(a *actions.Action) {
		a.At = at.Add(time.Duration(st.Seq()) * time.Second)
		if err := st.Dispatch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	dispatch(&actions.Action{Type: actions.TypeOpenSession, Room: "chat", Session: "s1"})
	dispatch(&actions.Action{Type: actions.TypeConnect, Room: "chat", Session: "s1", User: "u1", Payload: actions.Connect{Username: "ann"}})
	dispatch(&actions.Action{Type: actions.TypeOpenSession, Room: "ops", Session: "s2"})
	dispatch(&actions.Action{Type: actions.TypeConnect, Room: "ops", Session: "s2", User: "u2", Payload: actions.Connect{Username: "bob"}})
	for seq := uint64(5); seq <= 30; seq++ {
		a := &actions.Action{Type: actions.TypeWriteMessage, Room: "chat", Session: "s1", User: "u1", Payload: actions.WriteMessage{Message: fmt.Sprint("m", seq)}}
		if seq%2 == 0 {
			a.Room, a.Session, a.User = "ops", "s2", "u2"
		}
		dispatch(a)
		if seq%10 == 0 {
			data, err := chat.Codec{}.Encode(st.GetState())
			if err == nil {
				err = flog.SaveSnapshot(seq, data)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rpCorrupt rewrites the snapshot at seq of dir, with a valid checksum,
// after change edited the messages of room.
func rpCorrupt(t *testing.T, dir string, seq uint64, room string, change func(msgs []map[string]any) []map[string]any) {
	t.Helper()
	flog, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	defer flog.Close()
	data, err := flog.ReadSnapshot(seq)
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]any
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	rooms, _ := snap["rooms"].([]any)
	for _, r := range rooms {
		if r := r.(map[string]any); r["name"] == room {
			b, _ := json.Marshal(r["messages"])
			var msgs []map[string]any
			if err := json.Unmarshal(b, &msgs); err != nil {
				t.Fatal(err)
			}
			r["messages"] = change(msgs)
		}
	}
	if data, err = json.Marshal(snap); err == nil {
		err = flog.SaveSnapshot(seq, data)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A snapshot corrupted on purpose: Verify finds the snapshots before it
// equal, and names the first seq at which it differs from the log.
func TestVerifyCorruptedSnapshot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(msgs []map[string]any) []map[string]any
		want   uint64
	}{
		{"a message's text", func(msgs []map[string]any) []map[string]any {
			msgs[1]["message"] = "forged" // m17 of 15, 17, 19: written at 17
			return msgs
		}, 17},
		{"a message the window no longer holds", func(msgs []map[string]any) []map[string]any {
			m := maps.Clone(msgs[0])
			m["seq"], m["message"] = 13, "m13" // the rebuilt window dropped it at 19
			return append([]map[string]any{m}, msgs...)
		}, 19},
		{"a message missing", func(msgs []map[string]any) []map[string]any {
			return msgs[1:] // m15: the last write in chat up to 20 is 19
		}, 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := rpChatLog(t)
			if rpMust(t, replay.Config{Dir: dir, History: 3, Verify: true}) != "snapshot 10: equal to the state rebuilt from the log\nsnapshot 20: equal to the state rebuilt from the log\nsnapshot 30: equal to the state rebuilt from the log\nverified 3 snapshots\n" {
				t.Fatal("the log and its snapshots do not agree before the corruption")
			}
			rpCorrupt(t, dir, 20, "chat", tc.change)
			l, err := replay.OpenDir(dir, replay.Options{History: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var checks []replay.Check
			var folded []uint64
			v, err := l.Verify(context.Background(), func(c replay.Check) { checks = append(checks, c) }, func(seq uint64) { folded = append(folded, seq) })
			var mismatch *replay.MismatchError
			if !errors.As(err, &mismatch) || *mismatch != (replay.MismatchError{Snapshot: 20, Seq: tc.want, Agreed: 10}) {
				t.Errorf("Verify: %v, want snapshot 20 to differ first at seq %d", err, tc.want)
			}
			if !slices.Equal(checks, []replay.Check{{Seq: 10, Verdict: replay.Equal}}) || v != (replay.Verification{Listed: 3, Checked: 1}) || len(folded) != 20 || folded[19] != 20 {
				t.Errorf("checks %v, %+v, folded %v", checks, v, folded)
			}
		})
	}
}
