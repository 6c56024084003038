package chat_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

func openOn(room, sess, node string) *actions.Action {
	a := open(room, sess)
	a.Payload = actions.Open{Node: node}
	return a
}

func nodeDown(node string) *actions.Action {
	return &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: node}}
}

// on opens sess on node and connects it as user (named after the id).
func on(room, sess, node, user string) []*actions.Action {
	return []*actions.Action{openOn(room, sess, node), connect(room, sess, user, "name-"+user)}
}

func acts(groups ...[]*actions.Action) []*actions.Action { return slices.Concat(groups...) }

func one(a ...*actions.Action) []*actions.Action { return a }

func TestNodeDown(t *testing.T) {
	t.Parallel()
	type room struct {
		users    []string // user ids, in list order
		sessions []string // session ids, sorted
		grace    map[string]string
	}
	tests := []struct {
		name    string
		acts    []*actions.Action
		rooms   map[string]room
		present []string
		absent  []string
		nodes   []string
	}{
		{
			name:    "a user with sockets on two nodes stays when one goes down",
			acts:    acts(on("r", "s1", "n1", "ann"), on("r", "s2", "n2", "ann"), one(nodeDown("n1"))),
			rooms:   map[string]room{"r": {users: []string{"ann"}, sessions: []string{"s2"}}},
			present: []string{"ann"},
			nodes:   []string{"n2"},
		},
		{
			name:    "a user only on the dead node leaves at once",
			acts:    acts(on("r", "s1", "n1", "ann"), on("r", "s2", "n2", "bob"), on("r", "s3", "n1", "ann"), one(nodeDown("n1"))),
			rooms:   map[string]room{"r": {users: []string{"bob"}, sessions: []string{"s2"}}},
			present: []string{"bob"},
			absent:  []string{"ann"},
			nodes:   []string{"n2"},
		},
		{
			name: "a grace period kept by the dead node ends at once",
			acts: acts(on("r", "s1", "n1", "ann"), on("r", "s2", "n2", "bob"),
				one(closeSess("r", "s1", "ann"), nodeDown("n1"))),
			rooms:   map[string]room{"r": {users: []string{"bob"}, sessions: []string{"s2"}}},
			present: []string{"bob"},
			absent:  []string{"ann"},
			nodes:   []string{"n2"},
		},
		{
			name: "a grace period kept by another node goes on",
			acts: acts(on("r", "s1", "n2", "ann"), on("r", "s2", "n1", "bob"),
				one(closeSess("r", "s1", "ann"), nodeDown("n1"))),
			rooms:   map[string]room{"r": {users: []string{"ann"}, grace: map[string]string{"ann": "n2"}}},
			present: []string{"ann"},
			absent:  []string{"bob"},
			nodes:   []string{"n2"},
		},
		{
			name: "a user back on another node inside the grace stays",
			acts: acts(on("r", "s1", "n1", "ann"), one(closeSess("r", "s1", "ann")),
				on("r", "s2", "n2", "ann"), one(nodeDown("n1"))),
			rooms:   map[string]room{"r": {users: []string{"ann"}, sessions: []string{"s2"}}},
			present: []string{"ann"},
			nodes:   []string{"n2"},
		},
		{
			name: "sockets still establishing on the dead node close; others stay",
			acts: acts(one(openOn("r", "s1", "n1"), openOn("r", "s2", "n2"), open("r", "s3")),
				one(nodeDown("n1"))),
			rooms: map[string]room{"r": {sessions: []string{"s2", "s3"}}},
			nodes: []string{"n2"},
		},
		{
			name: "every room, and the id stays present while a room still lists it",
			acts: acts(on("r", "s1", "n1", "ann"), on("q", "s2", "n1", "ann"), on("p", "s3", "n2", "ann"),
				on("q", "s4", "n1", "bob"), one(nodeDown("n1"))),
			rooms: map[string]room{
				"r": {}, "q": {},
				"p": {users: []string{"ann"}, sessions: []string{"s3"}},
			},
			present: []string{"ann"},
			absent:  []string{"bob"},
			nodes:   []string{"n2"},
		},
		{
			name:    "sockets of a single-node server are no node's",
			acts:    acts(one(open("r", "s1"), connect("r", "s1", "ann", "ann"), nodeDown("n1"), nodeDown(""))),
			rooms:   map[string]room{"r": {users: []string{"ann"}, sessions: []string{"s1"}}},
			present: []string{"ann"},
			nodes:   []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := run(chat.NewReducer(chat.Options{}), tt.acts)
			for name, want := range tt.rooms {
				r := s.Room(name)
				var users []string
				grace := map[string]string{}
				for _, p := range r.Presences() {
					users = append(users, p.User.ID)
					if p.Sockets == 0 {
						grace[p.User.ID] = p.LeftOn
					}
				}
				var sessions []string
				for _, id := range []string{"s1", "s2", "s3", "s4"} {
					if _, ok := r.Session(id); ok {
						sessions = append(sessions, id)
					}
				}
				if !slices.Equal(users, want.users) || !slices.Equal(sessions, want.sessions) || len(grace) != len(want.grace) ||
					len(want.grace) > 0 && !reflect.DeepEqual(grace, want.grace) {
					t.Errorf("room %s: users %v, sessions %v, grace %v; want %v, %v, %v",
						name, users, sessions, grace, want.users, want.sessions, want.grace)
				}
			}
			for _, id := range tt.present {
				if !s.Present(id) {
					t.Errorf("%s is not present", id)
				}
			}
			for _, id := range tt.absent {
				if s.Present(id) {
					t.Errorf("%s is still present", id)
				}
			}
			if got := s.Nodes(); !slices.Equal(got, tt.nodes) {
				t.Errorf("Nodes() = %v, want %v", got, tt.nodes)
			}
		})
	}
}

// TestNodeDownTwiceChangesNothing: several surviving nodes may dispatch
// the same node/down, and a node/down may name a node that holds nothing;
// the reducer hands back the very state it got.
func TestNodeDownTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	s := run(reduce, acts(on("r", "s1", "n1", "ann"), on("r", "s2", "n2", "bob"), on("q", "s3", "n2", "bob"),
		one(closeSess("r", "s2", "bob")), one(nodeDown("n1"))))
	for _, node := range []string{"n1", "n9", ""} {
		a := nodeDown(node)
		a.Seq = 99
		again := reduce(s, a)
		for _, name := range []string{"r", "q"} {
			if again.Room(name) != s.Room(name) {
				t.Fatalf("node/down %q made a new room %s", node, name)
			}
		}
		if !bytes.Equal(encode(t, again), encode(t, s)) {
			t.Fatalf("node/down %q changed the state", node)
		}
		if d := chat.Diffs(s, again, a); len(d) != 0 {
			t.Fatalf("node/down %q has diffs %+v", node, d)
		}
	}
}

func TestNodeFollowsTheSocket(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	s := run(reduce, acts(on("r", "s1", "n1", "ann"), on("r", "s2", "n2", "ann")))
	if sess, _ := s.Room("r").Session("s1"); sess.Node != "n1" || !sess.IsConnected {
		t.Fatalf("session s1 = %+v, want connected on n1", sess)
	}
	if got := s.Nodes(); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Fatalf("Nodes() = %v", got)
	}
	s = reduce(s, &actions.Action{Seq: 5, Type: actions.TypeCloseSession, Room: "r", Session: "s2", User: "ann"})
	if p, _ := s.Room("r").Presence("ann"); p.LeftOn != "" {
		t.Fatalf("ann keeps a socket on n1 but LeftOn = %q", p.LeftOn)
	}
	s = reduce(s, &actions.Action{Seq: 6, Type: actions.TypeCloseSession, Room: "r", Session: "s1", User: "ann"})
	if p, _ := s.Room("r").Presence("ann"); p.LeftOn != "n1" || p.LeftAt != 6 {
		t.Fatalf("presence after the last close = %+v, want in grace since 6 on n1", p)
	}
	if got := s.Nodes(); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("Nodes() with a grace entry on n1 = %v", got)
	}
	for i, a := range on("r", "s3", "n2", "ann") {
		a.Seq = uint64(7 + i)
		s = reduce(s, a)
	}
	if p, _ := s.Room("r").Presence("ann"); p.LeftOn != "" || p.LeftAt != 0 || p.Sockets != 1 {
		t.Fatalf("presence after coming back = %+v, want one socket, no grace", p)
	}
}

// TestNodeDownEndsBindings: a bound id whose every room its dead node
// held is no longer present, so its binding ends as after an expiry.
func TestNodeDownEndsBindings(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	s := run(reduce, []*actions.Action{
		openOn("r", "s1", "n1"), claim("r", "s1", "ann", actions.Connect{Strict: true, NewTokenHash: "t1"}),
		nodeDown("n1"),
		// A late expiry from a timer the dead node had started does nothing.
		expire("r", "ann", 3),
	})
	if s.Present("ann") || s.Bound("ann", "t1") {
		t.Fatal("ann left with its node: the binding must end")
	}
	s = reduce(s, &actions.Action{Seq: 5, Type: actions.TypeOpenSession, Room: "r", Session: "s2"})
	s = reduce(s, &actions.Action{Seq: 6, Type: actions.TypeConnect, Room: "r", Session: "s2", User: "ann",
		Payload: actions.Connect{Username: "ann", Fallback: "fresh"}})
	if sess, _ := s.Room("r").Session("s2"); sess.UserID != "ann" {
		t.Fatalf("a v1 claim after the node's end got %q, want ann", sess.UserID)
	}
}

// TestServerStartRemembersNodes: server/start closes every socket as
// before; each user's grace period belongs to the node of its last socket.
func TestServerStartRemembersNodes(t *testing.T) {
	t.Parallel()
	s := run(chat.NewReducer(chat.Options{}), acts(on("r", "s1", "n1", "ann"), on("r", "s2", "", "bob"),
		one(&actions.Action{Type: actions.TypeServerStart})))
	ann, _ := s.Room("r").Presence("ann")
	bob, _ := s.Room("r").Presence("bob")
	if ann.LeftOn != "n1" || ann.LeftAt != 5 || bob.LeftOn != "" || bob.LeftAt != 5 || s.Room("r").SessionCount() != 0 {
		t.Fatalf("after server/start: ann %+v, bob %+v, %d sockets", ann, bob, s.Room("r").SessionCount())
	}
}
