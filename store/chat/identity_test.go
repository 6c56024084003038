package chat_test

import (
	"bytes"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

func claim(room, sess, user string, c actions.Connect) *actions.Action {
	if c.Username == "" {
		c.Username = user
	}
	return &actions.Action{Type: actions.TypeConnect, Room: room, Session: sess, User: user, Payload: c}
}

// TestIdentityRules follows docs/protocol.md, "Ids and tokens": which id a
// connecting socket gets, depending on presence, binding and token. The
// rules are the same for Connects of the current format and of the older
// one (logs of older versions), which bound a token per strict claim.
func TestIdentityRules(t *testing.T) {
	t.Parallel()
	t.Run("current", func(t *testing.T) {
		t.Parallel()
		testIdentityRules(t, func(token, fresh string) actions.Connect {
			return actions.Connect{Fallback: "fresh", Strict: true, TokenHash: token, FreshTokenHash: fresh}
		})
	})
	t.Run("older", func(t *testing.T) {
		t.Parallel()
		testIdentityRules(t, func(token, fresh string) actions.Connect {
			return actions.Connect{Fallback: "fresh", Strict: true, TokenHash: token, NewTokenHash: fresh}
		})
	})
}

func testIdentityRules(t *testing.T, v2 func(token, fresh string) actions.Connect) {
	v1 := actions.Connect{Fallback: "fresh"}
	tests := []struct {
		name   string
		before []*actions.Action // s1 is connected as ann before the claim, unless empty
		claim  *actions.Action
		want   string // the id socket s9 gets
	}{
		{"v1 claims a free id", nil, claim("r", "s9", "ann", v1), "ann"},
		{"v2 claims a free id", nil, claim("r", "s9", "ann", v2("", "t1")), "ann"},
		{"v1 reuses a present unbound id (the seed's reload)",
			[]*actions.Action{claim("r", "s1", "ann", v1)}, claim("r", "s9", "ann", v1), "ann"},
		{"v2 cannot take a present v1 id",
			[]*actions.Action{claim("r", "s1", "ann", v1)}, claim("r", "s9", "ann", v2("", "t2")), "fresh"},
		{"v1 without token cannot take a bound present id",
			[]*actions.Action{claim("r", "s1", "ann", v2("", "t1"))}, claim("r", "s9", "ann", v1), "fresh"},
		{"v2 with the wrong token gets a fresh id",
			[]*actions.Action{claim("r", "s1", "ann", v2("", "t1"))}, claim("r", "s9", "ann", v2("bad", "t2")), "fresh"},
		{"v2 with the right token keeps the id",
			[]*actions.Action{claim("r", "s1", "ann", v2("", "t1"))}, claim("r", "s9", "ann", v2("t1", "t2")), "ann"},
		{"the right token works from another room",
			[]*actions.Action{claim("r", "s1", "ann", v2("", "t1"))}, claim("q", "s9", "ann", v2("t1", "t2")), "ann"},
		{"v1 with a token is strict",
			[]*actions.Action{claim("r", "s1", "ann", v2("", "t1"))}, claim("r", "s9", "ann", actions.Connect{Fallback: "fresh", Strict: true, TokenHash: "t1"}), "ann"},
		{"a binding ends when the id leaves every room", []*actions.Action{
			claim("r", "s1", "ann", v2("", "t1")),
			{Type: actions.TypeCloseSession, Room: "r", Session: "s1"},
			{Type: actions.TypeExpirePresence, Room: "r", User: "ann", Payload: actions.Expire{Since: 3}},
		}, claim("r", "s9", "ann", v1), "ann"},
		{"a binding lasts through the grace period", []*actions.Action{
			claim("r", "s1", "ann", v2("", "t1")),
			{Type: actions.TypeCloseSession, Room: "r", Session: "s1"},
		}, claim("r", "s9", "ann", v2("", "t2")), "fresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var acts []*actions.Action
			for _, a := range tt.before {
				if a.Type == actions.TypeConnect {
					acts = append(acts, open(a.Room, a.Session))
				}
				acts = append(acts, a)
			}
			acts = append(acts, open(tt.claim.Room, "s9"), tt.claim)
			s := run(chat.NewReducer(chat.Options{}), acts)
			got, _ := s.Room(tt.claim.Room).Session("s9")
			if got.UserID != tt.want {
				t.Fatalf("socket got id %q, want %q", got.UserID, tt.want)
			}
			if _, listed := s.Room(tt.claim.Room).Presence(tt.want); !listed {
				t.Fatalf("%s is not in the user list", tt.want)
			}
		})
	}
}

// TestTokensAreBoundAndForgotten: Connects of the older format bind one
// more token per strict claim; all stay valid until the binding ends.
func TestTokensAreBoundAndForgotten(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	s := run(reduce, []*actions.Action{
		open("r", "s1"), claim("r", "s1", "ann", actions.Connect{Strict: true, NewTokenHash: "t1"}),
		open("q", "s2"), claim("q", "s2", "ann", actions.Connect{Strict: true, TokenHash: "t1", NewTokenHash: "t2"}),
	})
	if !s.Bound("ann", "t1") || !s.Bound("ann", "t2") || s.Bound("ann", "t3") || s.Bound("ann", "") {
		t.Fatal("tokens t1 and t2 (and only they) should be bound to ann")
	}
	var c chat.Codec
	data, _ := c.Encode(s)
	back, _ := c.Decode(data)
	if again, _ := c.Encode(back); !bytes.Equal(data, again) || !back.Bound("ann", "t2") || !back.Present("ann") {
		t.Fatal("a snapshot lost the bindings")
	}
	for i, a := range []*actions.Action{
		{Type: actions.TypeCloseSession, Room: "r", Session: "s1"},
		{Type: actions.TypeExpirePresence, Room: "r", User: "ann", Payload: actions.Expire{Since: 5}},
		{Type: actions.TypeCloseSession, Room: "q", Session: "s2"},
	} {
		a.Seq = uint64(5 + i)
		s = reduce(s, a)
	}
	if !s.Present("ann") || !s.Bound("ann", "t1") {
		t.Fatal("ann is still in grace in q: the binding must last")
	}
	s = reduce(s, &actions.Action{Seq: 8, Type: actions.TypeExpirePresence, Room: "q", User: "ann", Payload: actions.Expire{Since: 7}})
	if s.Present("ann") || s.Bound("ann", "t1") {
		t.Fatal("ann left every room: the binding must end")
	}
}
