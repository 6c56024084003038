package chat_test

import (
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// TestOutcomeOf: the outcome names what the reducer granted, not what the
// action asked for.
func TestOutcomeOf(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	strict := func(sess, user, token, fallback string) *actions.Action {
		return &actions.Action{Type: actions.TypeConnect, Room: "r", Session: sess, User: user,
			Payload: actions.Connect{Username: user, Fallback: fallback, Strict: true,
				TokenHash: actions.HashToken(token), NewTokenHash: actions.HashToken(token + "'")}}
	}
	withClientID := func(sess, text, clientID string) *actions.Action {
		a := write("r", sess, text)
		a.Payload = actions.WriteMessage{Message: text, ClientID: clientID}
		return a
	}
	tests := []struct {
		name  string
		setup []*actions.Action
		act   *actions.Action
		want  actions.Outcome
	}{
		{"connect gets its id", []*actions.Action{open("r", "s1")},
			connect("r", "s1", "ann", "ann"), actions.Outcome{Applied: true, User: "ann"}},
		{"a refused claim gets the fallback",
			[]*actions.Action{open("r", "s1"), strict("s1", "ann", "", "f1"), open("r", "s2")},
			strict("s2", "ann", "wrong", "f2"), actions.Outcome{Applied: true, User: "f2"}},
		{"a connect of an unknown socket is ignored", nil,
			connect("r", "nope", "ann", "ann"), actions.Outcome{User: "ann"}},
		{"a write names the socket's user",
			[]*actions.Action{open("r", "s1"), connect("r", "s1", "ann", "ann")},
			write("r", "s1", "hi"), actions.Outcome{Applied: true, User: "ann"}},
		{"a duplicate clientId stands at the original's seq",
			[]*actions.Action{open("r", "s1"), connect("r", "s1", "ann", "ann"), withClientID("s1", "hi", "c1")},
			withClientID("s1", "hi again", "c1"), actions.Outcome{User: "ann", Seq: 3}},
		{"a close names the socket's user",
			[]*actions.Action{open("r", "s1"), connect("r", "s1", "ann", "ann")},
			closeSess("r", "s1", ""), actions.Outcome{Applied: true, User: "ann"}},
		{"a stale expiry is ignored",
			[]*actions.Action{open("r", "s1"), connect("r", "s1", "ann", "ann")},
			expire("r", "ann", 1), actions.Outcome{User: "ann"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prev := run(reduce, tc.setup)
			tc.act.Seq = uint64(len(tc.setup) + 1)
			next := reduce(prev, tc.act)
			want := tc.want
			if want.Seq == 0 {
				want.Seq = tc.act.Seq
			}
			if got := chat.OutcomeOf(prev, next, tc.act); got != want {
				t.Fatalf("OutcomeOf = %+v, want %+v", got, want)
			}
		})
	}
}
