package chat_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// tokenModel is what docs/protocol.md says of tokens, kept beside the
// reducer: the token of each bound id.
type tokenModel struct {
	token  map[string]string
	issued []string
}

// claim applies the rule of actions.Connect to a claim of id, present or
// not, and returns the id the socket must get.
func (m *tokenModel) claim(id string, present bool, c actions.Connect) string {
	granted := c.Verified || !present
	if c.Strict {
		granted = granted || (c.TokenHash != "" && c.TokenHash == m.token[id])
	} else {
		granted = granted || m.token[id] == ""
	}
	user := id
	if !granted {
		user = c.Fallback
	}
	if c.Strict && (m.token[user] == "" || c.Verified) {
		m.token[user] = c.FreshTokenHash
	}
	return user
}

// TestTokenProperty: random connects (v1 and v2, with the right token, an
// old one, a forged one or none; now and then verified), closes and
// expiries over a few ids and rooms. After every action, the id each
// socket got and the tokens bound to each id are the model's.
func TestTokenProperty(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			testTokenProperty(t, rand.New(rand.NewSource(seed)), 1000)
		})
	}
}

func testTokenProperty(t *testing.T, rng *rand.Rand, steps int) {
	reduce := chat.NewReducer(chat.Options{})
	m := &tokenModel{token: map[string]string{}}
	ids, rooms := []string{"ann", "bob", "cat"}, []string{"r", "q"}
	type socket struct{ room, user string }
	open := map[string]socket{} // connected sockets by session
	var s chat.State
	var seq uint64
	apply := func(a *actions.Action) chat.State {
		seq++
		a.Seq = seq
		prev := s
		s = reduce(s, a)
		return prev
	}
	for step := range steps {
		switch k := rng.Intn(10); {
		case k < 5 || len(open) == 0: // a socket connects
			id, room, sess := ids[rng.Intn(len(ids))], rooms[rng.Intn(len(rooms))], fmt.Sprint("s", step)
			c := actions.Connect{Fallback: fmt.Sprint("fb", step)}
			if rng.Intn(4) > 0 {
				c.Strict, c.FreshTokenHash = true, fmt.Sprint("h", step)
				m.issued = append(m.issued, c.FreshTokenHash)
				switch rng.Intn(4) {
				case 0, 1:
					c.TokenHash = m.token[id]
				case 2:
					c.TokenHash = m.issued[rng.Intn(len(m.issued))]
				}
				c.Verified = rng.Intn(20) == 0
			}
			apply(&actions.Action{Type: actions.TypeOpenSession, Room: room, Session: sess})
			prev := apply(claim(room, sess, id, c))
			want := m.claim(id, prev.Present(id), c)
			if got, _ := s.Room(room).Session(sess); got.UserID != want {
				t.Fatalf("step %d: %+v for %s got %q, want %q", step, c, id, got.UserID, want)
			}
			open[sess] = socket{room, want}
		case k < 8: // a socket closes
			for sess, so := range open {
				apply(&actions.Action{Type: actions.TypeCloseSession, Room: so.room, Session: sess, User: so.user})
				delete(open, sess)
				break
			}
		default: // grace periods run out
			for _, room := range rooms {
				for _, p := range s.Room(room).Presences() {
					if p.Sockets == 0 {
						apply(&actions.Action{Type: actions.TypeExpirePresence, Room: room, User: p.User.ID, Payload: actions.Expire{Since: p.LeftAt}})
					}
				}
			}
		}
		for id := range m.token {
			if !s.Present(id) {
				delete(m.token, id)
			}
		}
		// Each id is bound to its model token, and to no other: the
		// newest tokens and a sample of the older ones.
		check := append([]string{}, ids...)
		for id := range m.token {
			check = append(check, id)
		}
		for _, id := range check {
			if h := m.token[id]; h != "" && !s.Bound(id, h) {
				t.Fatalf("step %d: %s is not bound to its token %s", step, id, h)
			}
			for i := range min(32, len(m.issued)) {
				h := m.issued[len(m.issued)-1-i]
				if i >= 16 {
					h = m.issued[rng.Intn(len(m.issued))]
				}
				if h != m.token[id] && s.Bound(id, h) {
					t.Fatalf("step %d: %s is bound to %s; the model binds %q", step, id, h, m.token[id])
				}
			}
		}
	}
}
