package transport_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

func TestV2Resume(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 5 * time.Second})

	t.Run("missed changes", func(t *testing.T) {
		const room = "/chat/v2_resume1"
		ann := s.JoinV2(t, room, "ann-r1", "ann")
		bob := s.JoinV2(t, room, "bob-r1", "bob")
		ann.ReadOps(1)
		ann.SayV2("before", "a1")
		bob.ReadOps(1)

		ann.CloseNow()
		bob.SayV2("missed 1", "b1")
		bob.SayV2("missed 2", "b2")
		carl := s.JoinV2(t, room, "carl-r1", "carl")
		bob.ReadOps(1)
		bob.SayV2("missed 3", "b3")

		lastSeq, oldToken := ann.LastSeq, ann.Token
		ann2, f := s.Resume(t, room, ann)
		if f.Name() != "resumed" {
			t.Fatalf("resume: got %s, want resumed", f)
		}
		if ann2.Token != oldToken {
			t.Fatal("resumed handed out another token, want the binding's: the one sent")
		}
		// Exactly the missed changes, in order, each once; then nothing.
		ops, _ := ann2.ReadOps(4)
		var got []string
		for _, op := range ops {
			if op.Op != "add" {
				t.Fatalf("missed operations %v: want adds only", ops)
			}
			v := op.Value.(map[string]any)
			if m, ok := v["message"]; ok {
				got = append(got, m.(string))
			} else {
				got = append(got, "joined "+v["id"].(string))
			}
		}
		if want := []string{"missed 1", "missed 2", "joined carl-r1", "missed 3"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("missed changes = %q, want %q", got, want)
		}
		if ann2.LastSeq <= lastSeq {
			t.Fatalf("mirror seq %d after the resume from %d", ann2.LastSeq, lastSeq)
		}
		nothingFor(t, ann2, 50*time.Millisecond)
		fresh := s.JoinV2(t, room, "", "fresh")
		for _, c := range []*chattest.Client{ann2, bob, carl} {
			c.WantSynced(fresh)
		}

		// The old token is still valid: resume with it again.
		ann2.CloseNow()
		bob.SayV2("missed 4", "b4")
		ann2.Token = oldToken
		ann3, f := s.Resume(t, room, ann2)
		if f.Name() != "resumed" {
			t.Fatalf("resume with the first token: got %s, want resumed", f)
		}
		ops, _ = ann3.ReadOps(1)
		if v, _ := ops[0].Value.(map[string]any); ops[0].Path != "/messages/-" || v["message"] != "missed 4" {
			t.Fatalf("missed = %v", ops)
		}
		nothingFor(t, ann3, 0)
	})

	t.Run("nothing missed", func(t *testing.T) {
		const room = "/chat/v2_resume2"
		ann := s.JoinV2(t, room, "ann-r2", "ann")
		ann.SayV2("hi", "a1")
		watcher, _ := s.Join(t, room, "w-r2", "w")
		ann.ReadOps(1)
		ann.CloseNow()
		ann2, f := s.Resume(t, room, ann)
		if f.Name() != "resumed" {
			t.Fatalf("resume: got %s, want resumed", f)
		}
		nothingFor(t, ann2, 50*time.Millisecond)
		nothingFor(t, watcher, 0) // the drop and the return announce nothing
		ann2.SayV2("still here", "a2")
	})

	t.Run("wrong token", func(t *testing.T) {
		const room = "/chat/v2_resume3"
		ann := s.JoinV2(t, room, "ann-r3", "ann")
		bob := s.JoinV2(t, room, "bob-r3", "bob")
		ann.CloseNow()
		ann.Token = "forged"
		ann2, f := s.Resume(t, room, ann)
		if f.Name() != "snapshot" || ann2.ID == "ann-r3" {
			t.Fatalf("resume with a wrong token: got %s, want a snapshot with a fresh id", f)
		}
		ops, _ := bob.ReadOps(1)
		if ops[0].String() != fmt.Sprintf(`add /userList/- {"id":%q,"username":"ann"}`, ann2.ID) {
			t.Fatalf("bob: %v", ops)
		}
	})

	t.Run("lastSeq in the future", func(t *testing.T) {
		const room = "/chat/v2_resume4"
		ann := s.JoinV2(t, room, "ann-r4", "ann")
		ann.CloseNow()
		ann.LastSeq += 1_000_000
		ann2, f := s.Resume(t, room, ann)
		if f.Name() != "snapshot" || ann2.ID != "ann-r4" {
			t.Fatalf("resume from the future: got %s, want a snapshot for ann-r4", f)
		}
	})

	t.Run("no lastSeq", func(t *testing.T) {
		const room = "/chat/v2_resume5"
		ann := s.JoinV2(t, room, "ann-r5", "ann")
		ann.CloseNow()
		ann2, f := s.ConnectV2(t, room, "ann", nil, map[string]any{"id": ann.ID, "username": "ann", "token": ann.Token})
		if f.Name() != "snapshot" || ann2.ID != "ann-r5" {
			t.Fatalf("reload with the token: got %s, want a snapshot for ann-r5", f)
		}
	})

	t.Run("another room", func(t *testing.T) {
		// Resume is per room: ann was never in room b.
		ann := s.JoinV2(t, "/chat/v2_resume6a", "ann-r6", "ann")
		ann.CloseNow()
		ann2, f := s.Resume(t, "/chat/v2_resume6b", ann)
		if f.Name() != "snapshot" || ann2.ID != "ann-r6" {
			t.Fatalf("resume in another room: got %s, want a snapshot for ann-r6", f)
		}
	})
}

func TestV2ResumeWindow(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Transport: transport.Config{ResumeWindow: 2}, Grace: 5 * time.Second})
	const room = "/chat/v2_window"
	ann := s.JoinV2(t, room, "ann", "ann")
	bob := s.JoinV2(t, room, "bob", "bob")
	ann.ReadOps(1)

	// Two missed changes: the window still holds both.
	ann.CloseNow()
	bob.SayV2("one", "b1")
	bob.SayV2("two", "b2")
	ann2, f := s.Resume(t, room, ann)
	if f.Name() != "resumed" {
		t.Fatalf("resume with 2 missed changes and a window of 2: got %s, want resumed", f)
	}
	ann2.ReadOps(2)

	// Three: the first one is gone.
	ann2.CloseNow()
	bob.SayV2("three", "b3")
	bob.SayV2("four", "b4")
	bob.SayV2("five", "b5")
	ann3, f := s.Resume(t, room, ann2)
	if f.Name() != "snapshot" || ann3.ID != "ann" {
		t.Fatalf("resume with 3 missed changes and a window of 2: got %s, want a snapshot for ann", f)
	}
	if got := ann3.State().Texts(); !reflect.DeepEqual(got, []string{"one", "two", "three", "four", "five"}) {
		t.Fatalf("snapshot messages = %q", got)
	}
	nothingFor(t, ann3, 50*time.Millisecond)
}

func TestV2ResumeAfterGrace(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond})
	const room = "/chat/v2_grace"
	w := s.JoinV2(t, room, "w", "w")
	ann := s.JoinV2(t, room, "ann", "ann")
	w.ReadOps(1)
	ann.CloseNow()
	ops, _ := w.ReadOps(1)
	if ops[0].String() != "remove /userList/1" {
		t.Fatalf("watcher: %v, want ann removed", ops)
	}
	ann2, f := s.Resume(t, room, ann)
	if f.Name() != "snapshot" || ann2.ID != "ann" {
		t.Fatalf("resume after the grace period: got %s, want a snapshot for ann", f)
	}
	ops, _ = w.ReadOps(1)
	if ops[0].String() != `add /userList/- {"id":"ann","username":"ann"}` {
		t.Fatalf("watcher: %v, want ann added", ops)
	}
	w.WantSynced(ann2)
}
