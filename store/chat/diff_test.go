package chat_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// fullDiff compares two versions of a room entry by entry: the slow,
// obviously right diff that Diff must agree with.
func fullDiff(prev, next *chat.Room) (entered, left []string, connected, closed []string, appended []string, dropped int) {
	ids := func(r *chat.Room) map[string]bool {
		m := map[string]bool{}
		if r != nil {
			for _, u := range r.UserList() {
				m[u.ID] = true
			}
		}
		return m
	}
	pu, nu := ids(prev), ids(next)
	for id := range nu {
		if !pu[id] {
			entered = append(entered, id)
		}
	}
	for id := range pu {
		if !nu[id] {
			left = append(left, id)
		}
	}
	for i := 0; i < 40; i++ {
		id := fmt.Sprint("s", i)
		var before, after chat.Session
		var had, has bool
		if prev != nil {
			before, had = prev.Session(id)
		}
		if next != nil {
			after, has = next.Session(id)
		}
		if has && after.IsConnected && !(had && before.IsConnected) {
			connected = append(connected, id)
		}
		if had && before.IsConnected && !has {
			closed = append(closed, id)
		}
	}
	seen := map[uint64]bool{}
	var pm []actions.Message
	if prev != nil {
		pm = prev.Messages()
	}
	for _, m := range pm {
		seen[m.Seq] = true
	}
	kept := 0
	if next != nil {
		for _, m := range next.Messages() {
			if seen[m.Seq] {
				kept++
			} else {
				appended = append(appended, m.Message)
			}
		}
	}
	return entered, left, connected, closed, appended, len(pm) - kept
}

// TestDiffAgreesWithFullComparison drives random sessions on a few nodes
// through two rooms and checks at every step that Diff, which looks only at
// what the action names, finds exactly what a full comparison of the two
// states finds; and that Diffs splits a node/down or server/start into
// chained steps, each of which a full comparison of its own Prev and Next
// agrees with, that together change what the action changed.
func TestDiffAgreesWithFullComparison(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		reduce := chat.NewReducer(chat.Options{History: 5})
		var s chat.State
		g := &randomSessions{open: map[string]string{}, node: map[string]string{}}
		lefts, wideLefts := 0, 0
		for seq := uint64(1); seq <= 600; seq++ {
			a := g.action(rng, s)
			a.Seq = seq
			next := reduce(s, a)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("seed %d seq %d %s %+v: %s", seed, seq, a.Type, a, fmt.Sprintf(format, args...))
			}
			diffs := chat.Diffs(s, next, a)
			if a.Room == "" {
				wideLefts += checkSteps(fail, s, next, diffs)
			} else {
				d := chat.Diff(s, next, a)
				checkDiff(fail, d, s.Room(a.Room), next.Room(a.Room))
				if d.Left != nil {
					lefts++
				}
				if want := []chat.RoomDiff{d}; d.Empty() && len(diffs) != 0 || !d.Empty() && !reflect.DeepEqual(diffs, want) {
					fail("Diffs = %+v, want %+v", diffs, want)
				}
			}
			s = next
		}
		if lefts == 0 || wideLefts == 0 {
			t.Fatalf("seed %d: %d users left by expiry, %d by node/down; the test exercises too little", seed, lefts, wideLefts)
		}
	}
}

// checkDiff compares d with a full comparison of prev and next.
func checkDiff(fail func(string, ...any), d chat.RoomDiff, prev, next *chat.Room) {
	e, l, c, cl, ap, dr := fullDiff(prev, next)
	check := func(what string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			fail("%s = %v, want %v", what, got, want)
		}
	}
	check("entered", userIDs(d.Entered), e)
	check("left", userIDs(d.Left), l)
	check("connected", sessionIDs(d.Connected), c)
	check("closed", sessionIDs(d.Closed), cl)
	var appended []string
	for _, m := range d.Appended {
		appended = append(appended, m.Message)
	}
	check("appended", appended, ap)
	check("dropped", d.Dropped, dr)
}

// checkSteps checks the steps Diffs gave for an action of every room, and
// returns how many users they show leaving.
func checkSteps(fail func(string, ...any), prev, next chat.State, steps []chat.RoomDiff) int {
	byRoom := map[string][]chat.RoomDiff{}
	var order []string
	for _, d := range steps {
		if d.Empty() {
			fail("an empty step")
		}
		name := d.Next.Name()
		if len(byRoom[name]) == 0 {
			order = append(order, name)
		}
		byRoom[name] = append(byRoom[name], d)
	}
	if !slices.IsSorted(order) || len(order) != len(byRoom) {
		fail("rooms out of order: %v", order)
	}
	lefts := 0
	for _, name := range next.RoomNames() {
		before, after := prev.Room(name), next.Room(name)
		room := byRoom[name]
		_, wantLeft, _, wantClosed, _, _ := fullDiff(before, after)
		var left, closed []string
		for i, d := range room {
			switch {
			case i == 0 && d.Prev != before:
				fail("room %s: the first step does not start from the room before", name)
			case i > 0 && d.Prev != room[i-1].Next:
				fail("room %s: step %d does not start where step %d ended", name, i, i-1)
			case i == len(room)-1 && d.Next != after:
				fail("room %s: the last step does not end in the room after", name)
			case d.Entered != nil || d.Connected != nil || len(d.Appended) > 0 || d.Dropped > 0:
				fail("room %s: step %d enters, connects or writes: %+v", name, i, d)
			}
			checkDiff(fail, d, d.Prev, d.Next)
			left = append(left, userIDs(d.Left)...)
			closed = append(closed, sessionIDs(d.Closed)...)
		}
		slices.Sort(left)
		slices.Sort(wantLeft)
		if !slices.Equal(left, wantLeft) || !slices.Equal(closed, wantClosed) {
			fail("room %s: steps left %v and closed %v, want %v and %v", name, left, closed, wantLeft, wantClosed)
		}
		lefts += len(left)
	}
	return lefts
}

// randomSessions makes random actions in rooms r and q, with sockets on
// nodes n1 to n3 and on no node, as a cluster's transports would.
type randomSessions struct {
	open map[string]string // session → user ("" until connected)
	node map[string]string // session → node
}

func (g *randomSessions) action(rng *rand.Rand, s chat.State) *actions.Action {
	sess := fmt.Sprint("s", rng.Intn(8))
	user := fmt.Sprint("u", rng.Intn(6))
	room := []string{"r", "q"}[rng.Intn(2)]
	switch rng.Intn(12) {
	case 0, 1:
		if _, ok := g.node[sess]; !ok {
			g.open[sess], g.node[sess] = "", []string{"", "n1", "n2", "n3"}[rng.Intn(4)]
		}
		a := &actions.Action{Type: actions.TypeOpenSession, Room: room, Session: sess}
		if n := g.node[sess]; n != "" || rng.Intn(2) == 0 {
			a.Payload = actions.Open{Node: n}
		}
		return a
	case 2, 3:
		if u, ok := g.open[sess]; ok && u == "" {
			g.open[sess] = user
		}
		return &actions.Action{Type: actions.TypeConnect, Room: room, Session: sess, User: user, Payload: actions.Connect{Username: user}}
	case 4, 5:
		u := g.open[sess]
		delete(g.open, sess)
		delete(g.node, sess)
		return &actions.Action{Type: actions.TypeCloseSession, Room: room, Session: sess, User: u}
	case 6, 7:
		// Mostly the expiry the presence timer would send, sometimes a stale one.
		since := uint64(rng.Intn(400))
		if p, ok := presence(s.Room(room), user); ok && rng.Intn(4) > 0 {
			since = p.LeftAt
		}
		return &actions.Action{Type: actions.TypeExpirePresence, Room: room, User: user, Payload: actions.Expire{Since: since}}
	case 8:
		if rng.Intn(8) == 0 {
			clear(g.open)
			clear(g.node)
			return &actions.Action{Type: actions.TypeServerStart}
		}
		node := []string{"n1", "n2", "n3", "n9"}[rng.Intn(4)]
		for sess, n := range g.node {
			if n == node {
				delete(g.open, sess)
				delete(g.node, sess)
			}
		}
		return &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: node}}
	default:
		return &actions.Action{Type: actions.TypeWriteMessage, Room: room, Session: sess, Payload: actions.WriteMessage{Message: fmt.Sprint("m", rng.Int())}}
	}
}

func userIDs(u *actions.User) []string {
	if u == nil {
		return nil
	}
	return []string{u.ID}
}

func sessionIDs(s *chat.Session) []string {
	if s == nil {
		return nil
	}
	return []string{s.ID}
}

func presence(r *chat.Room, user string) (chat.Presence, bool) {
	if r == nil {
		return chat.Presence{}, false
	}
	return r.Presence(user)
}
