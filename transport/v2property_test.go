package transport_test

// Property test of the v2 dialect: random sequences of joins, leaves,
// reloads inside the grace period, pauses longer than it, messages (some in bursts, some re-sent
// with a used clientId), window trims, dropped sockets and resumes, driven
// through a real server by several v2 clients. Every client applies every
// patch with json-patch; after each step each connected client's mirror
// must equal a fresh snapshot taken at the same seq.
//
// STATECAST_V2_SEED=n runs one more sequence from seed n.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
)

const (
	propGrace   = 250 * time.Millisecond
	propHistory = 4
)

// propUser is one simulated user: its id and token survive its sockets.
type propUser struct {
	name    string
	c       *chattest.Client // the current socket; nil when offline
	state   string           // "new", "on", "dropped", "left"
	dropped *chattest.Client // the mirror of a dropped socket
	since   time.Time        // when it dropped
	said    map[string]uint64
	n       int // messages written
}

func (u *propUser) barrierID() string { return "barrier-" + u.name }

func TestV2Property(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{History: propHistory, Grace: propGrace, Fsync: file.Off, RateLimit: noRateLimit})
	seeds := []uint64{1, 2, 3}
	if v := os.Getenv("STATECAST_V2_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("STATECAST_V2_SEED: %v", err)
		}
		seeds = append(seeds, n)
	}
	steps := 150
	if testing.Short() {
		steps = 40
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			runV2Property(t, s, seed, steps)
		})
	}
}

func runV2Property(t *testing.T, s *chattest.Server, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	room := fmt.Sprintf("/chat/v2_prop_%d", seed)

	// The holder keeps the id "probe-N" present, so that the probes that
	// take fresh snapshots as a second socket of it change nothing. It is
	// a mirror like the others.
	holder := &propUser{name: fmt.Sprintf("probe-%d", seed), said: map[string]uint64{}}
	holder.c = s.JoinV2(t, room, holder.name, holder.name)
	holder.state = "on"
	holder.said[holder.barrierID()] = holder.c.SayV2("holder here", holder.barrierID())

	users := []*propUser{holder}
	for i := range 4 {
		users = append(users, &propUser{name: fmt.Sprintf("u%d-%d", i, seed), state: "new", said: map[string]uint64{}})
	}
	stats := map[string]int{}

	// pick returns a random user (never the holder) in one of the states.
	pick := func(states ...string) *propUser {
		var in []*propUser
		for _, u := range users[1:] {
			for _, st := range states {
				if u.state == st {
					in = append(in, u)
				}
			}
		}
		if len(in) == 0 {
			return nil
		}
		return in[rng.IntN(len(in))]
	}
	connect := func(u *propUser, fields map[string]any) chattest.Event {
		t.Helper()
		fields["username"] = u.name
		fields["id"] = u.name
		var from *chattest.Client
		if u.c != nil {
			fields["token"] = u.c.Token
			from = u.c
		}
		c, f := s.ConnectV2(t, room, u.name, from, fields)
		if c.ID != u.name {
			t.Fatalf("%s reconnected with its token and got id %q", u.name, c.ID)
		}
		u.c, u.state = c, "on"
		if _, ok := u.said[u.barrierID()]; !ok {
			u.said[u.barrierID()] = c.SayV2("hello from "+u.name, u.barrierID())
		}
		return f
	}

	for step := 0; step < steps; {
		var what string
		switch r := rng.IntN(100); {
		case r < 3:
			// Let grace periods expire: left users leave the list, dropped
			// ones get a snapshot when they come back.
			what = "pause"
			time.Sleep(propGrace + 50*time.Millisecond)
		case r < 15:
			u := pick("new", "left")
			if u == nil {
				continue
			}
			what = "join " + u.name
			connect(u, map[string]any{})
		case r < 22:
			u := pick("on")
			if u == nil {
				continue
			}
			what = "leave " + u.name
			u.c.Close()
			u.state = "left"
		case r < 30:
			u := pick("on")
			if u == nil {
				continue
			}
			what = "reload " + u.name
			u.c.Close()
			if f := connect(u, map[string]any{}); f.Name() != "snapshot" {
				t.Fatalf("reload: got %s, want a snapshot", f)
			}
		case r < 40:
			u := pick("on")
			if u == nil {
				continue
			}
			what = "drop " + u.name
			u.c.CloseNow()
			u.dropped, u.since, u.state = u.c, time.Now(), "dropped"
		case r < 52:
			u := pick("dropped")
			if u == nil {
				continue
			}
			what = "resume " + u.name
			fast := time.Since(u.since) < propGrace/2
			f := connect(u, map[string]any{"lastSeq": u.dropped.LastSeq})
			if fast && f.Name() != "resumed" {
				t.Fatalf("%s resumed %v after its drop, inside the grace period: got %s, want resumed", u.name, time.Since(u.since), f)
			}
			stats[f.Name()]++
			u.dropped = nil
		case r < 80:
			u := pick("on")
			if u == nil {
				continue
			}
			u.n++
			id := fmt.Sprintf("%s-%d", u.name, u.n)
			what = "write " + id
			u.said[id] = u.c.SayV2("message "+id, id)
		case r < 88:
			u := pick("on")
			if u == nil {
				continue
			}
			n := 2 + rng.IntN(4)
			what = fmt.Sprintf("burst of %d by %s", n, u.name)
			var ids []string
			for range n {
				u.n++
				id := fmt.Sprintf("%s-%d", u.name, u.n)
				ids = append(ids, id)
				u.c.SayID("message "+id, id)
			}
			for _, id := range ids {
				u.said[id] = u.c.AwaitAck(id)
			}
		default:
			u := pick("on")
			if u == nil {
				continue
			}
			var ids []string
			for id := range u.said {
				ids = append(ids, id)
			}
			id := ids[rng.IntN(len(ids))]
			what = "re-send " + id
			u.c.SayID("again "+id, id)
			if seq := u.c.AwaitAck(id); seq != u.said[id] {
				t.Fatalf("re-sent %s acked with seq %d, want the original %d", id, seq, u.said[id])
			}
		}
		stats[strings.Fields(what)[0]]++
		step++
		checkV2Mirrors(t, s, room, step, what, holder, users)
	}
	t.Logf("seed %d: %v", seed, stats)
}

// checkV2Mirrors takes a fresh snapshot of the room (as a second socket of
// the holder, which changes nothing), makes every connected client read
// up to a point after it (a re-sent write is acked after every change
// before it was queued), and compares each mirror with the snapshot. When
// a change came in between (a grace period expiring), it tries again.
func checkV2Mirrors(t *testing.T, s *chattest.Server, room string, step int, what string, holder *propUser, users []*propUser) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		probe, f := s.ConnectV2(t, room, "probe", nil, map[string]any{"id": holder.name, "username": holder.name, "token": holder.c.Token})
		if f.Name() != "snapshot" || probe.ID != holder.name {
			t.Fatalf("step %d (%s): probe got %s", step, what, f)
		}
		probe.Close()
		// A claim with the binding's token gets that token back: keep the
		// one the server handed out last.
		holder.c.Token = probe.Token
		later := false
		for _, u := range users {
			if u.state != "on" {
				continue
			}
			u.c.SayID("barrier", u.barrierID())
			u.c.AwaitAck(u.barrierID())
			later = later || u.c.LastSeq > probe.LastSeq
		}
		if later {
			if attempt == 10 {
				t.Fatalf("step %d (%s): the room kept changing", step, what)
			}
			continue
		}
		for _, u := range users {
			if u.state == "on" && !chattest.JSONEqual(u.c.Mirror(), probe.Mirror()) {
				t.Fatalf("step %d (%s): %s's mirror at seq %d differs from a snapshot at seq %d:\nmirror:   %s\nsnapshot: %s",
					step, what, u.name, u.c.LastSeq, probe.LastSeq, u.c.Mirror(), probe.Mirror())
			}
		}
		return
	}
}
