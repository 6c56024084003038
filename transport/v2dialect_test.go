package transport_test

// The v2 dialect of docs/protocol.md (state sync), end to end: real
// WebSocket clients that offer the statecast.v2 subprotocol keep a mirror
// of their room (internal/chattest applies every patch with an RFC 6902
// implementation) and compare it with fresh snapshots.

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

func TestV2Subprotocol(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	cases := []struct {
		offer []string
		want  string
	}{
		{nil, ""},
		{[]string{"chat", "statecast.v1"}, ""},
		{[]string{chattest.V2Protocol}, chattest.V2Protocol},
		{[]string{"chat", chattest.V2Protocol}, chattest.V2Protocol},
	}
	for i, tc := range cases {
		c, err := dialProtocols(t, s, "/chat/v2_proto", tc.offer)
		if err != nil {
			t.Fatalf("offering %q: %v", tc.offer, err)
		}
		if got := c.Subprotocol(); got != tc.want {
			t.Fatalf("offering %q: server selected %q, want %q", tc.offer, got, tc.want)
		}
		id := fmt.Sprintf("u%d", i)
		c.Send(chattest.Connecting(map[string]any{"id": id, "username": id}))
		e := c.Next()
		if tc.want == "" {
			if e.Str("event") != "connected" || e.Str("id") != id {
				t.Fatalf("offering %q: got %v, want a v1 connected", tc.offer, e)
			}
		} else if e.Str("event") != "snapshot" || e.Str("id") != id {
			t.Fatalf("offering %q: got %v, want a v2 snapshot", tc.offer, e)
		}
		c.Close()
	}
}

// ---- snapshots ----

func TestV2Snapshot(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})

	// An empty room: lists are [] (not null), the user is in its own list.
	solo := s.JoinV2(t, "/chat/v2_snap_empty", "solo", "solo")
	if !chattest.JSONEqual(solo.Mirror(), []byte(`{"messages":[],"userList":[{"id":"solo","username":"solo"}],"isConnected":true,"isEstablishingConnection":false}`)) {
		t.Fatalf("snapshot of an empty room = %s", solo.Mirror())
	}

	ann, _ := s.Join(t, "/chat/v2_snap", "ann", "ann")
	ann.Say("one")
	expectWritten(t, ann)
	ann.Say("two <b>&</b>")
	written := ann.Expect("messageWritten")

	bob := s.JoinV2(t, "/chat/v2_snap", "bob", "bob")
	expectPresence(t, ann, "joined", "bob", "bob")
	msgs, _ := json.Marshal(written["messagesList"])
	want := fmt.Sprintf(`{"messages":%s,"userList":[{"id":"ann","username":"ann"},{"id":"bob","username":"bob"}],"isConnected":true,"isEstablishingConnection":false}`, msgs)
	if got := v1View(t, bob.Mirror()); !chattest.JSONEqual(got, []byte(want)) {
		t.Fatalf("snapshot state = %s\nwant %s (plus each message's id and at)", bob.Mirror(), want)
	}
	if st := bob.State(); bob.LastSeq <= st.Messages[1].Seq || bob.Token == solo.Token {
		t.Fatalf("snapshot seq %d, token %q: want a seq after the last message's %d and a token of its own", bob.LastSeq, bob.Token, st.Messages[1].Seq)
	}

	// No id: the server makes one (a UUID).
	anon := s.JoinV2(t, "/chat/v2_snap", "", "anon")
	if _, err := uuid.Parse(anon.ID); err != nil {
		t.Fatalf("server-made id %q is not a UUID", anon.ID)
	}
	if anon.LastSeq <= bob.LastSeq {
		t.Fatalf("seqs: bob's snapshot %d, anon's later one %d", bob.LastSeq, anon.LastSeq)
	}
	bob.WantSynced(anon)
}

// ---- v1 and v2 in one room ----

func TestV2MixedDialects(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{History: 4})
	const room = "/chat/v2_mixed"
	ann, _ := s.Join(t, room, "ann", "ann")
	bob := s.JoinV2(t, room, "bob", "bob")
	expectPresence(t, ann, "joined", "bob", "bob")
	carl, hello := s.Join(t, room, "carl", "carl")
	wantUsers(t, hello, map[string]string{"ann": "ann", "bob": "bob", "carl": "carl"})
	expectPresence(t, ann, "joined", "carl", "carl")
	bob.ReadOps(1)

	for i := range 6 {
		if i%2 == 0 {
			ann.Say(fmt.Sprintf("v1 %d", i))
			want := 1
			if i >= 4 { // the window is full: the oldest message goes
				want = 2
			}
			bob.ReadOps(want)
		} else {
			bob.SayV2(fmt.Sprintf("v2 %d", i), fmt.Sprintf("b%d", i))
		}
		annList, _ := json.Marshal(ann.Expect("messageWritten")["messagesList"])
		carlList, _ := json.Marshal(carl.Expect("messageWritten")["messagesList"])
		var mirror struct {
			Messages json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(bob.Mirror(), &mirror); err != nil {
			t.Fatal(err)
		}
		if !chattest.JSONEqual(annList, v1View(t, mirror.Messages)) || !chattest.JSONEqual(carlList, annList) {
			t.Fatalf("after message %d: v1 messagesLists\n%s\n%s\nv2 mirror\n%s", i, annList, carlList, mirror.Messages)
		}
	}
	fresh := s.JoinV2(t, room, "", "fresh")
	bob.WantSynced(fresh)
}

func v1View(t *testing.T, doc []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("v1View: %v in %s", err, doc)
	}
	slim := func(m any) {
		o, ok := m.(map[string]any)
		if !ok {
			return
		}
		if _, ok := o["id"].(string); !ok {
			t.Fatalf("v2 message without an id: %s", doc)
		}
		if _, ok := o["at"].(string); !ok {
			t.Fatalf("v2 message without a time: %s", doc)
		}
		delete(o, "id")
		delete(o, "at")
		delete(o, "clientId")
	}
	switch x := v.(type) {
	case []any:
		for _, m := range x {
			slim(m)
		}
	case map[string]any:
		if list, ok := x["messages"].([]any); ok {
			for _, m := range list {
				slim(m)
			}
		} else {
			slim(x)
		}
	}
	out, _ := json.Marshal(v)
	return out
}

// dialProtocols opens a socket to path offering protocols.
func dialProtocols(t *testing.T, s *chattest.Server, path string, protocols []string) (*chattest.Client, error) {
	c, _, err := chattest.DialURL(t, s.URL(path), chattest.Subprotocols(protocols...))
	return c, err
}
