package transport_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

func TestV2Identity(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 400 * time.Millisecond})

	t.Run("v2 cannot claim a present v1 id", func(t *testing.T) {
		ann, _ := s.Join(t, "/chat/v2_id1", "ann-1", "ann")
		mallory := connectV2Fields(t, s, "/chat/v2_id1", map[string]any{"id": "ann-1", "username": "mallory"})
		if mallory.ID == "ann-1" || mallory.ID == "" {
			t.Fatalf("v2 claim of a present v1 id got id %q, want a fresh one", mallory.ID)
		}
		if got := mallory.State().Users(); !reflect.DeepEqual(got, []string{"ann-1=ann", mallory.ID + "=mallory"}) {
			t.Fatalf("user list = %q", got)
		}
		expectPresence(t, ann, "joined", mallory.ID, "mallory")
	})

	t.Run("v1 without the token cannot claim a present bound id", func(t *testing.T) {
		bob := s.JoinV2(t, "/chat/v2_id2", "bob-2", "bob")
		for _, token := range []string{"", "wrong"} {
			fields := map[string]any{"id": "bob-2", "username": "mallory"}
			if token != "" {
				fields["token"] = token
			}
			c := s.Dial(t, "/chat/v2_id2")
			c.Send(chattest.Connecting(fields))
			e := c.Expect("connected")
			if id := e.Str("id"); id == "bob-2" || id == "" {
				t.Fatalf("v1 claim of a bound id with token %q got id %q, want a fresh one", token, id)
			}
			bob.ReadOps(1)
		}
		// With the right token, v1 keeps the id (a second socket: no patch).
		c := s.Dial(t, "/chat/v2_id2")
		c.Send(chattest.Connecting(map[string]any{"id": "bob-2", "username": "bob", "token": bob.Token}))
		e := c.Expect("connected")
		if e.Str("id") != "bob-2" || e.Str("token") == "" {
			t.Fatalf("v1 claim with the right token = %v, want id bob-2 and a token", e)
		}
		nothingFor(t, bob, 50*time.Millisecond)
	})

	t.Run("the right token keeps the id in another room", func(t *testing.T) {
		carl := s.JoinV2(t, "/chat/v2_id3a", "carl-3", "carl")
		other := connectV2Fields(t, s, "/chat/v2_id3b", map[string]any{"id": "carl-3", "username": "carl", "token": carl.Token})
		if other.ID != "carl-3" || other.Token != carl.Token {
			t.Fatalf("v2 claim with the token in another room: id %q token %q", other.ID, other.Token)
		}
		// The token stays valid (it is the binding's one token).
		for i, token := range []string{carl.Token, other.Token} {
			c := s.Dial(t, "/chat/v2_id3c")
			c.Send(chattest.Connecting(map[string]any{"id": "carl-3", "username": "carl", "token": token}))
			if e := c.Expect("connected"); e.Str("id") != "carl-3" {
				t.Fatalf("token %d: v1 claim in a third room = %v, want id carl-3", i, e)
			}
		}
		// Without it, in yet another room: a fresh id.
		mallory := connectV2Fields(t, s, "/chat/v2_id3d", map[string]any{"id": "carl-3", "username": "mallory", "token": "nope"})
		if mallory.ID == "carl-3" {
			t.Fatal("v2 claim with a wrong token kept the id")
		}
	})

	t.Run("the binding ends when the id left every room", func(t *testing.T) {
		const a, b = "/chat/v2_id4a", "/chat/v2_id4b"
		wa := s.JoinV2(t, a, "wa", "wa")
		wb := s.JoinV2(t, b, "wb", "wb")
		dave := s.JoinV2(t, a, "dave-4", "dave")
		dave2 := connectV2Fields(t, s, b, map[string]any{"id": "dave-4", "username": "dave", "token": dave.Token})
		wa.ReadOps(1)
		wb.ReadOps(1)
		claim := func() string {
			t.Helper()
			c := s.Dial(t, "/chat/v2_id4c")
			c.Send(chattest.Connecting(map[string]any{"id": "dave-4", "username": "mallory"}))
			id := c.Expect("connected").Str("id")
			c.Close()
			return id
		}
		// Gone from room a, live in room b: still bound.
		dave.Close()
		ops, _ := wa.ReadOps(1)
		if ops[0].String() != "remove /userList/1" {
			t.Fatalf("room a: %v, want dave removed", ops)
		}
		if id := claim(); id == "dave-4" {
			t.Fatal("a v1 claim without the token took an id still present in another room")
		}
		// Inside the grace period in room b: still bound.
		dave2.CloseNow()
		if id := claim(); id == "dave-4" {
			t.Fatal("a v1 claim without the token took an id inside its grace period")
		}
		// Gone everywhere: the binding ended, anyone may claim the id.
		ops, _ = wb.ReadOps(1)
		if ops[0].String() != "remove /userList/1" {
			t.Fatalf("room b: %v, want dave removed", ops)
		}
		if id := claim(); id != "dave-4" {
			t.Fatalf("a v1 claim of an id no longer present got %q, want dave-4", id)
		}
	})
}

// connectV2Fields connects a v2 client with the given connecting fields
// and fails unless it gets a snapshot.
func connectV2Fields(t *testing.T, s *chattest.Server, path string, fields map[string]any) *chattest.Client {
	t.Helper()
	name, _ := fields["username"].(string)
	c, f := s.ConnectV2(t, path, name, nil, fields)
	if f.Name() != "snapshot" {
		t.Fatalf("%s: got %s, want a snapshot", name, f)
	}
	return c
}
