package transport_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

func TestV2Patches(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{History: 3, Grace: 150 * time.Millisecond})
	const room = "/chat/v2_patches"
	w := s.JoinV2(t, room, "w", "watcher")

	wantOps := func(got []chattest.Op, want ...string) {
		t.Helper()
		var strs []string
		for _, op := range got {
			strs = append(strs, op.String())
		}
		if strings.Join(strs, "\n") != strings.Join(want, "\n") {
			t.Fatalf("operations:\n%s\nwant:\n%s", strings.Join(strs, "\n"), strings.Join(want, "\n"))
		}
	}
	// asV1 reduces the messages that ops add to v1's fields.
	asV1 := func(ops []chattest.Op) []chattest.Op {
		for i, op := range ops {
			if op.Op == "add" && strings.HasPrefix(op.Path, "/messages/") {
				raw, _ := json.Marshal(op.Value)
				ops[i].Value = nil
				json.Unmarshal(v1View(t, raw), &ops[i].Value)
			}
		}
		return ops
	}
	msgJSON := func(e chattest.Event) (string, float64) {
		list := e.List("messagesList")
		m := list[len(list)-1]
		b, _ := json.Marshal(m)
		return string(b), m.(map[string]any)["seq"].(float64)
	}

	// A v1 user joins: one add at the end of the user list.
	ann, _ := s.Join(t, room, "ann", "ann")
	ops, _ := w.ReadOps(1)
	wantOps(ops, `add /userList/- {"id":"ann","username":"ann"}`)

	// Messages: an add at the end of messages each, with the seq of the
	// message.
	for _, text := range []string{"m1", "m2", "m3"} {
		ann.Say(text)
		m, seq := msgJSON(ann.Expect("messageWritten"))
		ops, last := w.ReadOps(1)
		wantOps(asV1(ops), `add /messages/- `+m)
		if last != uint64(seq) {
			t.Fatalf("patch seq %d, want the message's %v", last, seq)
		}
	}
	// The window is full: the fourth message pushes the oldest out.
	ann.Say("m4")
	m4, seq4 := msgJSON(ann.Expect("messageWritten"))
	ops, last := w.ReadOps(2)
	wantOps(asV1(ops), `add /messages/- `+m4, `remove /messages/0`)
	if last != uint64(seq4) {
		t.Fatalf("patch seq %d, want the message's %v", last, seq4)
	}
	if got := w.State().Texts(); !reflect.DeepEqual(got, []string{"m2", "m3", "m4"}) {
		t.Fatalf("mirror messages = %q", got)
	}

	// A second socket of a present user changes nothing; a new user is
	// added; a leaving user is removed (after the grace period) at its
	// index.
	ann2, _ := s.Join(t, room, "ann", "ann")
	bob := s.JoinV2(t, room, "bob", "bob")
	ops, _ = w.ReadOps(1)
	wantOps(ops, `add /userList/- {"id":"bob","username":"bob"}`)
	ann.Close()
	ann2.Close()
	ops, _ = w.ReadOps(1)
	wantOps(ops, `remove /userList/1`)
	bob.CatchUp(w.LastSeq)
	if got := bob.State().Users(); !reflect.DeepEqual(got, []string{"w=watcher", "bob=bob"}) {
		t.Fatalf("bob's mirror users = %q", got)
	}

	// Both mirrors equal a fresh snapshot.
	fresh := s.JoinV2(t, room, "", "fresh")
	w.WantSynced(fresh)
	bob.WantSynced(fresh)
	wPatches, _ := w.Patches()
	bobPatches, _ := bob.Patches()
	if wPatches < 8 || bobPatches < 2 {
		t.Fatalf("patches applied: watcher %d, bob %d", wPatches, bobPatches)
	}
}

// ---- acks and idempotent writes ----

func TestV2AckAndDuplicate(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	const room = "/chat/v2_ack"
	ann := s.JoinV2(t, room, "ann", "ann")
	bob := s.JoinV2(t, room, "bob", "bob")
	ann.ReadOps(1) // bob joined
	carl, _ := s.Join(t, room, "carl", "carl")
	ann.ReadOps(1)
	bob.ReadOps(1)

	seq1 := ann.SayV2("hello", "c-1")
	if st := ann.State(); len(st.Messages) != 1 || st.Messages[0].Seq != seq1 || st.Messages[0].ClientID != "c-1" {
		t.Fatalf("ann's mirror after the ack of seq %d: %s", seq1, ann.Mirror())
	}
	// The same clientId again, even with another text: acked with the
	// original seq, nothing applied, so no patch comes before the ack.
	ann.SayID("hello again", "c-1")
	if f := ann.Expect("ack"); f.Str("clientId") != "c-1" || f.Seq() != seq1 {
		t.Fatalf("ack of the re-sent write = %s, want clientId c-1, seq %d", f, seq1)
	}
	// A new clientId is a new message; the same clientId of another user
	// too (clientIds are scoped to the user).
	seq2 := ann.SayV2("second", "c-2")
	seq3 := bob.SayV2("bob's c-1", "c-1")
	if !(seq1 < seq2 && seq2 < seq3) {
		t.Fatalf("seqs %d, %d, %d: want growing", seq1, seq2, seq3)
	}
	// Without a clientId: a patch, no ack.
	ann.Say("no id")
	ann.ReadOps(2) // bob's c-1, then "no id"

	// Everyone saw each message once.
	want := []string{"hello", "second", "bob's c-1", "no id"}
	nothingFor(t, ann, 100*time.Millisecond)
	bob.CatchUp(ann.LastSeq)
	nothingFor(t, bob, 0)
	for _, c := range []*chattest.Client{ann, bob} {
		if got := c.State().Texts(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s's mirror messages = %q, want %q", c.Name, got, want)
		}
	}
	var last []chatMsg
	for range want {
		last = expectWritten(t, carl)
	}
	wantTexts(t, last, want...)
	nothingFor(t, carl, 0)
	fresh := s.JoinV2(t, room, "", "fresh")
	ann.WantSynced(fresh)
	bob.WantSynced(fresh)
}
