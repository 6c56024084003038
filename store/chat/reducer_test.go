package chat_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

var t0 = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

// run folds acts into an empty state, numbering them like the store does.
func run(reduce func(chat.State, *actions.Action) chat.State, acts []*actions.Action) chat.State {
	var s chat.State
	for i, a := range acts {
		a.Seq = uint64(i + 1)
		s = reduce(s, a)
	}
	return s
}

func open(room, sess string) *actions.Action {
	return &actions.Action{Type: actions.TypeOpenSession, Room: room, Session: sess}
}

func connect(room, sess, user, name string) *actions.Action {
	return &actions.Action{Type: actions.TypeConnect, Room: room, Session: sess, User: user,
		Payload: actions.Connect{Username: name}}
}

func closeSess(room, sess, user string) *actions.Action {
	return &actions.Action{Type: actions.TypeCloseSession, Room: room, Session: sess, User: user}
}

func write(room, sess, text string) *actions.Action {
	return &actions.Action{Type: actions.TypeWriteMessage, Room: room, Session: sess, ID: "m-" + text,
		At: t0, Payload: actions.WriteMessage{Message: text}}
}

func expire(room, user string, since uint64) *actions.Action {
	return &actions.Action{Type: actions.TypeExpirePresence, Room: room, User: user,
		Payload: actions.Expire{Since: since}}
}

func TestReducer(t *testing.T) {
	t.Parallel()
	type want struct {
		users    []actions.User
		messages []string
		sessions map[string]chat.Session
	}
	ann := actions.User{ID: "1", Username: "ann"}
	bob := actions.User{ID: "2", Username: "bob"}
	tests := []struct {
		name    string
		history int
		acts    []*actions.Action
		want    want
	}{
		{
			name: "an opened socket is establishing",
			acts: []*actions.Action{open("r", "s1")},
			want: want{sessions: map[string]chat.Session{"s1": {ID: "s1", IsEstablishingConnection: true}}},
		},
		{
			name: "a socket that was never opened (or was removed) cannot connect",
			acts: []*actions.Action{open("r", "s1"), connect("r", "s2", "1", "ann")},
			want: want{sessions: map[string]chat.Session{"s1": {ID: "s1", IsEstablishingConnection: true}}},
		},
		{
			name: "connecting enters the user list and connects the socket",
			acts: []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann")},
			want: want{users: []actions.User{ann},
				sessions: map[string]chat.Session{"s1": {ID: "s1", UserID: "1", Username: "ann", IsConnected: true}}},
		},
		{
			name: "users are listed once, in the order they entered",
			acts: []*actions.Action{
				open("r", "s1"), connect("r", "s1", "2", "bob"),
				open("r", "s2"), connect("r", "s2", "1", "ann"),
				open("r", "s3"), connect("r", "s3", "2", "bob"),
			},
			want: want{users: []actions.User{bob, ann}, sessions: map[string]chat.Session{
				"s1": {ID: "s1", UserID: "2", Username: "bob", IsConnected: true},
				"s2": {ID: "s2", UserID: "1", Username: "ann", IsConnected: true},
				"s3": {ID: "s3", UserID: "2", Username: "bob", IsConnected: true},
			}},
		},
		{
			name: "closing the last socket keeps the user in grace",
			acts: []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), closeSess("r", "s1", "1")},
			want: want{users: []actions.User{ann}, sessions: map[string]chat.Session{}},
		},
		{
			name: "expiry after the grace removes the user",
			acts: []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), closeSess("r", "s1", "1"), expire("r", "1", 3)},
			want: want{sessions: map[string]chat.Session{}},
		},
		{
			name: "a reload inside the grace cancels the expiry",
			acts: []*actions.Action{
				open("r", "s1"), connect("r", "s1", "1", "ann"), closeSess("r", "s1", "1"),
				open("r", "s2"), connect("r", "s2", "1", "ann"), expire("r", "1", 3),
			},
			want: want{users: []actions.User{ann},
				sessions: map[string]chat.Session{"s2": {ID: "s2", UserID: "1", Username: "ann", IsConnected: true}}},
		},
		{
			name: "a stale expiry from an earlier leave does nothing",
			acts: []*actions.Action{
				open("r", "s1"), connect("r", "s1", "1", "ann"), closeSess("r", "s1", "1"),
				open("r", "s2"), connect("r", "s2", "1", "ann"), closeSess("r", "s2", "1"), expire("r", "1", 3),
			},
			want: want{users: []actions.User{ann}, sessions: map[string]chat.Session{}},
		},
		{
			name: "closing one of two tabs keeps the user",
			acts: []*actions.Action{
				open("r", "s1"), connect("r", "s1", "1", "ann"), open("r", "s2"), connect("r", "s2", "1", "ann"),
				closeSess("r", "s1", "1"), expire("r", "1", 5),
			},
			want: want{users: []actions.User{ann},
				sessions: map[string]chat.Session{"s2": {ID: "s2", UserID: "1", Username: "ann", IsConnected: true}}},
		},
		{
			name: "messages carry the session's name and keep order",
			acts: []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), write("r", "s1", "a"), write("r", "s1", "b")},
			want: want{users: []actions.User{ann}, messages: []string{"ann:a", "ann:b"},
				sessions: map[string]chat.Session{"s1": {ID: "s1", UserID: "1", Username: "ann", IsConnected: true}}},
		},
		{
			name: "a message from a socket that is not connected is ignored",
			acts: []*actions.Action{open("r", "s1"), write("r", "s1", "a"), write("r", "nobody", "b")},
			want: want{sessions: map[string]chat.Session{"s1": {ID: "s1", IsEstablishingConnection: true}}},
		},
		{
			name:    "the window keeps the newest N",
			history: 2,
			acts: []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"),
				write("r", "s1", "a"), write("r", "s1", "b"), write("r", "s1", "c")},
			want: want{users: []actions.User{ann}, messages: []string{"ann:b", "ann:c"},
				sessions: map[string]chat.Session{"s1": {ID: "s1", UserID: "1", Username: "ann", IsConnected: true}}},
		},
		{
			name: "rooms are independent",
			acts: []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), open("other", "s2"),
				connect("other", "s2", "2", "bob"), write("other", "s2", "x")},
			want: want{users: []actions.User{ann},
				sessions: map[string]chat.Session{"s1": {ID: "s1", UserID: "1", Username: "ann", IsConnected: true}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := run(chat.NewReducer(chat.Options{History: tt.history}), tt.acts)
			r := s.Room("r")
			if r == nil {
				t.Fatal("room r missing")
			}
			if got := r.UserList(); !(len(got) == 0 && len(tt.want.users) == 0) && !reflect.DeepEqual(got, tt.want.users) {
				t.Errorf("users = %v, want %v", got, tt.want.users)
			}
			var msgs []string
			for _, m := range r.Messages() {
				msgs = append(msgs, m.Username+":"+m.Message)
			}
			if !reflect.DeepEqual(msgs, tt.want.messages) {
				t.Errorf("messages = %v, want %v", msgs, tt.want.messages)
			}
			if r.SessionCount() != len(tt.want.sessions) {
				t.Errorf("%d sessions, want %d", r.SessionCount(), len(tt.want.sessions))
			}
			for id, want := range tt.want.sessions {
				if got, _ := r.Session(id); got != want {
					t.Errorf("session %s = %+v, want %+v", id, got, want)
				}
			}
		})
	}
}

func TestMessageFieldsComeFromTheAction(t *testing.T) {
	t.Parallel()
	w := write("r", "s1", "hi")
	w.Payload = actions.WriteMessage{Message: "hi", ClientID: "c1"}
	s := run(chat.NewReducer(chat.Options{}), []*actions.Action{open("r", "s1"), connect("r", "s1", "u1", "ann"), w})
	got := s.Room("r").Message(0)
	want := actions.Message{ID: "m-hi", UserID: "u1", Username: "ann", Message: "hi", At: t0, Seq: 3, ClientID: "c1"}
	if got != want {
		t.Fatalf("message = %+v, want %+v", got, want)
	}
}

// TestReducerLeavesPrevAlone applies actions to a state and checks that the
// earlier state reads exactly as before: versions share structure, never
// mutate it.
func TestReducerLeavesPrevAlone(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{History: 2})
	base := run(reduce, []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), write("r", "s1", "a"), write("r", "s1", "b")})
	before := snapshot(base)
	next := base
	for i, a := range []*actions.Action{write("r", "s1", "c"), open("r", "s2"), connect("r", "s2", "2", "bob"), closeSess("r", "s1", "1"), expire("r", "1", 8)} {
		a.Seq = uint64(5 + i)
		next = reduce(next, a)
	}
	if after := snapshot(base); !reflect.DeepEqual(before, after) {
		t.Fatalf("old state changed:\nbefore %v\nafter  %v", before, after)
	}
	if reflect.DeepEqual(snapshot(next), before) {
		t.Fatal("the new state did not change at all")
	}
	// A fork from the same version must not disturb the other branch.
	a1, a2 := write("r", "s1", "x"), write("r", "s1", "y")
	a1.Seq, a2.Seq = 5, 5
	x, y := reduce(base, a1), reduce(base, a2)
	if x.Room("r").Message(1).Message != "x" || y.Room("r").Message(1).Message != "y" {
		t.Fatal("two branches from one state interfere")
	}
}

func snapshot(s chat.State) map[string]any {
	out := map[string]any{}
	for _, name := range s.RoomNames() {
		r := s.Room(name)
		out[name] = []any{r.UserList(), r.Messages(), r.SessionCount()}
	}
	return out
}

// TestSameActionsSameState is determinism: two folds of one log are equal.
func TestSameActionsSameState(t *testing.T) {
	t.Parallel()
	mk := func() []*actions.Action {
		return []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), write("r", "s1", "a"),
			open("q", "s2"), connect("q", "s2", "1", "ann"), closeSess("r", "s1", "1"), expire("r", "1", 6)}
	}
	reduce := chat.NewReducer(chat.Options{})
	if a, b := snapshot(run(reduce, mk())), snapshot(run(reduce, mk())); !reflect.DeepEqual(a, b) {
		t.Fatalf("same log, different states:\n%v\n%v", a, b)
	}
}

func TestClientIDIsAppliedOnce(t *testing.T) {
	t.Parallel()
	w := func(sess, text, clientID string) *actions.Action {
		a := write("r", sess, text)
		a.Payload = actions.WriteMessage{Message: text, ClientID: clientID}
		return a
	}
	s := run(chat.NewReducer(chat.Options{History: 2}), []*actions.Action{
		open("r", "s1"), connect("r", "s1", "1", "ann"),
		open("r", "s2"), connect("r", "s2", "2", "bob"),
		w("s1", "a", "c1"),
		w("s1", "a again", "c1"),                             // duplicate: same user, same clientId
		w("s2", "b", "c1"),                                   // another user may use the same clientId
		w("s1", "x", ""), w("s1", "y", ""), w("s1", "z", ""), // no clientId: never deduplicated
		w("s1", "late dup", "c1"), // still remembered after leaving the window
	})
	r := s.Room("r")
	var got []string
	for _, m := range r.Messages() {
		got = append(got, m.Message)
	}
	if want := []string{"y", "z"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("messages = %v, want %v", got, want)
	}
	if seq, ok := r.Written("1", "c1"); !ok || seq != 5 {
		t.Fatalf("Written(1, c1) = %d, %v; want 5, true", seq, ok)
	}
	if seq, ok := r.Written("2", "c1"); !ok || seq != 7 {
		t.Fatalf("Written(2, c1) = %d, %v; want 7, true", seq, ok)
	}
}

func TestDedupeWindowIsBounded(t *testing.T) {
	t.Parallel()
	acts := []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann")}
	for i := 0; i < chat.MinDedupe+5; i++ {
		a := write("r", "s1", "m")
		a.Payload = actions.WriteMessage{Message: "m", ClientID: fmt.Sprint("c", i)}
		acts = append(acts, a)
	}
	r := run(chat.NewReducer(chat.Options{History: 10}), acts).Room("r")
	if _, ok := r.Written("1", "c0"); ok {
		t.Fatal("the oldest clientId is still remembered past the window")
	}
	if _, ok := r.Written("1", "c5"); !ok {
		t.Fatal("a clientId inside the window was forgotten")
	}
}

func TestServerStartClosesEverySocket(t *testing.T) {
	t.Parallel()
	s := run(chat.NewReducer(chat.Options{}), []*actions.Action{
		open("r", "s1"), connect("r", "s1", "1", "ann"), open("r", "s2"),
		open("q", "s3"), connect("q", "s3", "2", "bob"), open("q", "s4"), connect("q", "s4", "2", "bob"),
		{Type: actions.TypeServerStart},
	})
	for _, name := range []string{"r", "q"} {
		if n := s.Room(name).SessionCount(); n != 0 {
			t.Fatalf("room %s keeps %d sessions after a restart", name, n)
		}
	}
	for room, user := range map[string]string{"r": "1", "q": "2"} {
		p, ok := s.Room(room).Presence(user)
		if !ok || p.Sockets != 0 || p.LeftAt != 8 {
			t.Fatalf("presence of %s in %s = %+v, %v; want listed, in grace since 8", user, room, p, ok)
		}
	}
}

func TestPostMessageNeedsNoSocket(t *testing.T) {
	t.Parallel()
	post := &actions.Action{Type: actions.TypePostMessage, Room: "r", User: "bot", ID: "p1", At: t0,
		Payload: actions.PostMessage{Username: "dicebot", Message: "rolled 7"}}
	s := run(chat.NewReducer(chat.Options{History: 1}), []*actions.Action{write("r", "nobody", "ignored"), post})
	got := s.Room("r").Messages()
	want := []actions.Message{{ID: "p1", UserID: "bot", Username: "dicebot", Message: "rolled 7", At: t0, Seq: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("messages = %+v, want %+v", got, want)
	}
}
