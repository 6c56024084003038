package chat_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// strict is a strict claim of the current format presenting token (a
// hash; "" for none), with fresh as the hash of the socket's fresh token.
func strict(token, fresh string) actions.Connect {
	return actions.Connect{Fallback: "fb-" + fresh, Strict: true, TokenHash: token, FreshTokenHash: fresh}
}

// reconnect opens socket sess in room, connects it with c and closes it.
func reconnect(reduce func(chat.State, *actions.Action) chat.State, s chat.State, seq *uint64, room, sess, user string, c actions.Connect) (chat.State, string) {
	var got string
	for _, a := range []*actions.Action{open(room, sess), claim(room, sess, user, c), closeSess(room, sess, user)} {
		*seq++
		a.Seq = *seq
		prev := s
		s = reduce(s, a)
		if a.Type == actions.TypeConnect {
			got = chat.OutcomeOf(prev, s, a).User
		}
	}
	return s, got
}

// idsOf returns the "ids" part of s's snapshot.
func idsOf(t *testing.T, s chat.State) string {
	t.Helper()
	data, err := chat.Codec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(data[bytes.Index(data, []byte(`"ids":`)):])
}

// TestTokenLastsTheBinding: however many times an id reconnects while its
// binding lasts, the token that started the binding still gets it, the id
// keeps that one token (the fresh ones its connects brought are not
// bound), and its entry in the state does not grow.
func TestTokenLastsTheBinding(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	var seq uint64
	s := run(reduce, []*actions.Action{open("r", "s1"), claim("r", "s1", "ann", strict("", "t0"))})
	seq = 2
	want := idsOf(t, s)
	if want != `"ids":[{"id":"ann","rooms":1,"token":"t0"}]}` {
		t.Fatalf("ids after the first claim: %s", want)
	}
	for i := range 5000 {
		var got string
		s, got = reconnect(reduce, s, &seq, "r", fmt.Sprint("s-", i), "ann", strict("t0", fmt.Sprint("fresh-", i)))
		if got != "ann" {
			t.Fatalf("connect %d with the binding's token got id %q", i, got)
		}
		if s.Bound("ann", fmt.Sprint("fresh-", i)) {
			t.Fatalf("connect %d bound its fresh token: the binding had one", i)
		}
	}
	if got := idsOf(t, s); got != want {
		t.Fatalf("ids after 5000 connects: %s, want %s", got, want)
	}
	if !s.Bound("ann", "t0") {
		t.Fatal("the binding's token is no longer bound")
	}
}

// TestTokenOfAnEndedBindingIsRefused: once the id left every room, its
// token gets nothing: the next claim starts a binding with a token of its
// own, and the old token, and a forged one, get a fresh id.
func TestTokenOfAnEndedBindingIsRefused(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	s := run(reduce, []*actions.Action{
		open("r", "s1"), claim("r", "s1", "ann", strict("", "t0")),
		closeSess("r", "s1", "ann"), expire("r", "ann", 3),
	})
	if s.Present("ann") || s.Bound("ann", "t0") {
		t.Fatal("ann left every room: the binding must end")
	}
	seq := uint64(4)
	s, got := reconnect(reduce, s, &seq, "q", "s2", "ann", strict("", "t1"))
	if got != "ann" || !s.Bound("ann", "t1") || s.Bound("ann", "t0") {
		t.Fatalf("a claim of the free id got %q; t1 bound %v, t0 bound %v: want ann bound to t1 only", got, s.Bound("ann", "t1"), s.Bound("ann", "t0"))
	}
	// ann is in its grace period in q: present, bound to t1.
	for _, token := range []string{"t0", "forged", ""} {
		var got string
		s, got = reconnect(reduce, s, &seq, "q", "s-"+token, "ann", strict(token, "t-"+token))
		if got == "ann" {
			t.Fatalf("a claim with token %q got ann, bound to t1", token)
		}
		if !s.Bound(got, "t-"+token) {
			t.Fatalf("the fresh id %q is not bound to the socket's fresh token", got)
		}
	}
}

// TestVerifiedClaimReplacesTheToken: a verified claim needs no token, and
// the socket's fresh token becomes the id's, so that the socket is handed
// a token that works.
func TestVerifiedClaimReplacesTheToken(t *testing.T) {
	t.Parallel()
	verified := strict("jwt-hash", "t1")
	verified.Verified = true
	s := run(chat.NewReducer(chat.Options{}), []*actions.Action{
		open("r", "s1"), claim("r", "s1", "ann", strict("", "t0")),
		open("r", "s2"), claim("r", "s2", "ann", verified),
	})
	if got, _ := s.Room("r").Session("s2"); got.UserID != "ann" || !s.Bound("ann", "t1") || s.Bound("ann", "t0") {
		t.Fatalf("verified claim got %q; want ann bound to t1 only", got.UserID)
	}
}

// TestOlderTokensMeetTheCurrentFormat: tokens bound by Connects of the
// older format (a log written before the upgrade) stay valid for Connects
// of the current format, the first of which gives the id its token; the
// older format keeps only the newest 1024 tokens, as it always did; and a
// snapshot keeps both kinds.
func TestOlderTokensMeetTheCurrentFormat(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	older := func(token, fresh string) actions.Connect {
		return actions.Connect{Fallback: "fb-" + fresh, Strict: true, TokenHash: token, NewTokenHash: fresh}
	}
	s := run(reduce, []*actions.Action{open("r", "s1"), claim("r", "s1", "ann", older("", "old-0"))})
	seq := uint64(2)
	for i := 1; i <= 1030; i++ {
		s, _ = reconnect(reduce, s, &seq, "r", fmt.Sprint("s-", i), "ann", older(fmt.Sprint("old-", i-1), fmt.Sprint("old-", i)))
	}
	if s.Bound("ann", "old-6") || !s.Bound("ann", "old-7") || !s.Bound("ann", "old-1030") {
		t.Fatal("the older format keeps the newest 1024 tokens")
	}
	s, got := reconnect(reduce, s, &seq, "r", "s-new", "ann", strict("old-500", "t0"))
	if got != "ann" || !s.Bound("ann", "t0") || !s.Bound("ann", "old-500") {
		t.Fatalf("a current claim with an older token got %q; want ann, bound to t0 and still to old-500", got)
	}
	s, got = reconnect(reduce, s, &seq, "r", "s-new2", "ann", strict("old-900", "t1"))
	if got != "ann" || s.Bound("ann", "t1") || !s.Bound("ann", "t0") {
		t.Fatalf("a second current claim got %q; want ann, keeping t0", got)
	}
	var c chat.Codec
	data, _ := c.Encode(s)
	back, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Encode(back); !bytes.Equal(again, data) || !back.Bound("ann", "t0") || !back.Bound("ann", "old-1030") {
		t.Fatal("a snapshot lost a token")
	}
}
