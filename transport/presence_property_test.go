package transport_test

// Property test of presence: seeded random interleavings, over real
// sockets, of connects (v1 with and without a token, v2), refused claims of
// other users' ids (wrong or missing tokens), abrupt drops, reloads inside
// the grace period, clean closes, and waits past the grace period, in two
// rooms. After every step the store's user lists, and what the v1 and v2
// observers of each room were told, must equal a model (presence_model_test.go).
//
// The model accounts for time only at waits: a step other than a wait
// starts only while every grace period under way is young, and a wait
// sleeps until all of them are over. An attempt whose step still outlived
// a grace period (a machine too busy) is run again from the start. Where
// those waits fall depends on timing, so a failure prints its step list.
//
// -presence.seeds=n runs seeds 1 to n; -presence.seed=s runs seed s only.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

var (
	presenceSeeds = flag.Int("presence.seeds", 3, "how many seeds TestPresenceProperty runs (1 to n)")
	presenceSeed  = flag.Uint64("presence.seed", 0, "run TestPresenceProperty with this seed only")
)

const (
	pGrace    = 300 * time.Millisecond
	pMargin   = 50 * time.Millisecond // a wait sleeps this much past every grace period
	pMaxSocks = 10                    // users' sockets open at once
	pAttempts = 3
)

// overrun ends an attempt whose step outlived a grace period; note says
// what the step saw meanwhile, if anything.
type overrun struct{ note string }

func TestPresenceProperty(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: pGrace, History: 2, Data: chattest.Memory, RateLimit: noRateLimit})
	var seeds []uint64
	for i := 1; i <= *presenceSeeds; i++ {
		seeds = append(seeds, uint64(i))
	}
	if *presenceSeed != 0 {
		seeds = []uint64{*presenceSeed}
	}
	steps := 50
	if testing.Short() {
		steps = 20
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			for attempt := 1; ; attempt++ {
				err := runPresenceProperty(t, s, seed, attempt, steps)
				if err == nil {
					return
				}
				if attempt == pAttempts {
					t.Fatalf("seed %d, attempt %d of %d: %v", seed, attempt, pAttempts, err)
				}
				t.Logf("seed %d, attempt %d: %v; running it again", seed, attempt, err)
			}
		})
	}
}

// pRun is one attempt at one seed's sequence.
type pRun struct {
	t     *testing.T
	s     *chattest.Server
	seed  uint64
	rng   *rand.Rand
	rooms []*pRoom
	users []*pUser // the users who connect as themselves (observers too)
	socks []*pSock // the users' open sockets, observers' excluded
	steps []string
	// oldest is the start of the oldest grace period under way during
	// the current step; zero if none.
	oldest    time.Time
	attackers int
	stats     map[string]int // steps run, by their first word
}

func runPresenceProperty(t *testing.T, s *chattest.Server, seed uint64, attempt, steps int) (err error) {
	r := &pRun{t: t, s: s, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x9e3779b9)), stats: map[string]int{}}
	prefix := fmt.Sprintf("p%da%d", seed, attempt)
	defer func() {
		if t.Failed() {
			t.Logf("seed %d (rerun with -presence.seed=%d), attempt %d, steps:\n%s", seed, seed, attempt, strings.Join(r.steps, "\n"))
		}
		for _, sk := range r.socks {
			sk.c.CloseNow()
		}
		for _, room := range r.rooms {
			for _, o := range room.obs {
				o.c.CloseNow()
			}
		}
		if p := recover(); p != nil {
			o, ok := p.(overrun)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("step %d (%s) outlived a grace period%s", len(r.steps), r.steps[len(r.steps)-1], o.note)
			t.Logf("seed %d, attempt %d, steps:\n%s", seed, attempt, strings.Join(r.steps, "\n"))
		}
	}()
	for i := range 2 {
		r.rooms = append(r.rooms, newPRoom(fmt.Sprintf("%s-r%d", prefix, i)))
	}
	for i, k := range []pKind{kindV1Plain, kindV1Token, kindV2, kindV2} {
		r.users = append(r.users, &pUser{label: fmt.Sprintf("u%d", i), id: fmt.Sprintf("%s-u%d", prefix, i), kind: k})
	}
	for _, room := range r.rooms {
		r.observe(room)
	}
	for len(r.steps) < steps {
		r.step()
	}
	t.Logf("seed %d, attempt %d: %v", seed, attempt, r.stats)
	return nil
}

// observe connects a v1 and a v2 observer to room.
func (r *pRun) observe(room *pRoom) {
	t := r.t
	o1 := &pUser{label: "obs1", id: room.name + "-obs1", observer: true}
	o2 := &pUser{label: "obs2", id: room.name + "-obs2", kind: kindV2, observer: true}
	c1, _ := r.s.Join(t, room.path, o1.id, o1.label)
	c2 := r.s.JoinV2(t, room.path, o2.id, o2.label)
	expectPresence(t, c1, "joined", o2.id, o2.label)
	r.users = append(r.users, o1, o2)
	room.open(o1)
	room.open(o2)
	clear(room.want)
	room.obs = []*pObserver{newPObserver(c1, false, []string{o1.id, o2.id}), newPObserver(c2, true, []string{o1.id, o2.id})}
}

// step runs one random step, or a wait when a grace period under way is
// no longer young, and checks the outcome.
func (r *pRun) step() {
	r.oldest = time.Time{}
	for _, room := range r.rooms {
		for _, since := range room.grace {
			if r.oldest.IsZero() || since.Before(r.oldest) {
				r.oldest = since
			}
		}
	}
	if !r.oldest.IsZero() && time.Since(r.oldest) > pGrace/3 {
		r.wait()
		return
	}
	var what string
	switch n := r.rng.IntN(100); {
	case n < 6:
		r.wait()
		return
	case n < 30:
		what = r.connect()
	case n < 50:
		what = r.refusedClaim()
	case n < 65:
		what = r.drop(false)
	case n < 77:
		what = r.drop(true)
	default:
		what = r.reload()
	}
	if what == "" {
		return // no socket or user fit the step
	}
	r.steps = append(r.steps, what)
	r.stats[strings.Fields(what)[0]]++
	r.settle(5 * time.Second)
	for _, room := range r.rooms {
		for _, o := range room.obs {
			o.barrier(r.t)
		}
	}
	r.checkTime("")
	r.compare()
}

// wait sleeps past every grace period under way; the model ends them all.
func (r *pRun) wait() {
	var newest time.Time
	for _, room := range r.rooms {
		for _, since := range room.grace {
			if since.After(newest) {
				newest = since
			}
		}
	}
	d := pGrace + pMargin
	if !newest.IsZero() {
		d = time.Until(newest.Add(pGrace + pMargin))
	}
	r.steps = append(r.steps, "wait past the grace period")
	r.stats["wait"]++
	time.Sleep(d)
	r.oldest = time.Time{}
	for _, room := range r.rooms {
		room.expire()
	}
	r.settle(2 * time.Second) // the users leave right after their grace periods
	for _, room := range r.rooms {
		for _, o := range room.obs {
			o.barrier(r.t)
		}
	}
	r.compare()
}

// settle waits until the store's state equals the model, for at most
// within.
func (r *pRun) settle(within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		var diffs []string
		for _, room := range r.rooms {
			if d := room.stateDiff(r.s); d != "" {
				diffs = append(diffs, d)
			}
		}
		if len(diffs) == 0 {
			return
		}
		r.checkTime("; the state then: " + strings.Join(diffs, "; "))
		if time.Now().After(deadline) {
			r.fail("the state did not reach the model within %v: %s", within, strings.Join(diffs, "; "))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkTime ends the attempt if the step outlived a grace period under way
// during it: the server may then have ended it, and the model has not.
func (r *pRun) checkTime(note string) {
	if !r.oldest.IsZero() && time.Since(r.oldest) >= pGrace {
		panic(overrun{note})
	}
}

// compare fails the test if an observer was told other than the model.
func (r *pRun) compare() {
	for _, room := range r.rooms {
		for _, o := range room.obs {
			if d := o.diff(r.t, room); d != "" {
				r.fail("%s", d)
			}
		}
	}
}

// fail fails the test with the seed and the step (the deferred log in
// runPresenceProperty prints the step list).
func (r *pRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d, step %d (%s): %s", r.seed, len(r.steps), r.steps[len(r.steps)-1], fmt.Sprintf(format, args...))
}

// graceStarted records a close that may start a grace period at since.
func (r *pRun) graceStarted(since time.Time) {
	if r.oldest.IsZero() {
		r.oldest = since
	}
}

func (r *pRun) room() *pRoom { return r.rooms[r.rng.IntN(len(r.rooms))] }
