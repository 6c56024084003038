package chat_test

import (
	"fmt"
	"math/rand"
	"reflect"
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

// TestDiffAgreesWithFullComparison drives random sessions through a room
// and checks at every step that Diff, which looks only at what the action
// names, finds exactly what a full comparison of the two states finds.
func TestDiffAgreesWithFullComparison(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		reduce := chat.NewReducer(chat.Options{History: 5})
		var s chat.State
		open := map[string]string{} // session → user ("" until connected)
		lefts := 0
		for seq := uint64(1); seq <= 400; seq++ {
			a := randomAction(rng, open, s.Room("r"))
			a.Seq, a.Room = seq, "r"
			next := reduce(s, a)
			d := chat.Diff(s, next, a)
			e, l, c, cl, ap, dr := fullDiff(s.Room("r"), next.Room("r"))
			check := func(what string, got, want any) {
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d seq %d %s: %s = %v, want %v", seed, seq, a.Type, what, got, want)
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
			s = next
			if d.Left != nil {
				lefts++
			}
		}
		if lefts == 0 {
			t.Fatalf("seed %d: no user ever left; the test exercises too little", seed)
		}
	}
}

func randomAction(rng *rand.Rand, open map[string]string, room *chat.Room) *actions.Action {
	sess := fmt.Sprint("s", rng.Intn(8))
	user := fmt.Sprint("u", rng.Intn(6))
	switch rng.Intn(5) {
	case 0:
		open[sess] = ""
		return &actions.Action{Type: actions.TypeOpenSession, Session: sess}
	case 1:
		if u, ok := open[sess]; ok && u == "" {
			open[sess] = user
		}
		return &actions.Action{Type: actions.TypeConnect, Session: sess, User: user, Payload: actions.Connect{Username: user}}
	case 2:
		u := open[sess]
		delete(open, sess)
		return &actions.Action{Type: actions.TypeCloseSession, Session: sess, User: u}
	case 3:
		// Mostly the expiry the presence timer would send, sometimes a stale one.
		since := uint64(rng.Intn(400))
		if p, ok := presence(room, user); ok && rng.Intn(4) > 0 {
			since = p.LeftAt
		}
		return &actions.Action{Type: actions.TypeExpirePresence, User: user, Payload: actions.Expire{Since: since}}
	default:
		return &actions.Action{Type: actions.TypeWriteMessage, Session: sess, Payload: actions.WriteMessage{Message: fmt.Sprint("m", rng.Int())}}
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
