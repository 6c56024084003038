package chat_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// TestReplayEqualsLiveAtEverySeq is property 1 of the design, end to end
// through the real store and file log: for many random seeds it dispatches
// a random chat session (opens, connects, closes, reloads, writes with and
// without clientIds and with duplicates, expiries with the right and a
// stale since, server starts, sockets on several nodes and node/downs,
// repeated or of nodes that hold nothing, concurrent writes, a restart
// midway) and
// records the encoded state after every seq as the subscribers saw it.
// Folding the log from seq 0, and from every snapshot, must then give
// byte-equal states at every seq, and reopening the directory must recover
// the final state.
func TestReplayEqualsLiveAtEverySeq(t *testing.T) {
	t.Parallel()
	seeds := 24
	if testing.Short() {
		seeds = 8
	}
	var seen coverage
	t.Cleanup(func() {
		// Across all seeds, every kind of change must have happened.
		counts := map[string]int64{
			"messages trimmed from a window": seen.trims.Load(), "users left after an expiry": seen.lefts.Load(),
			"expiries ignored (stale or early)": seen.staleExpiries.Load(), "duplicate clientIds ignored": seen.dupWrites.Load(),
			"sockets closed by server/start": seen.startCloses.Load(), "multi-action log batches": seen.batches.Load(),
			"claims refused (fresh id)": seen.fallbacks.Load(), "present ids reclaimed with a token": seen.tokenResumes.Load(),
			"sockets closed by node/down": seen.downCloses.Load(), "users left at node/down": seen.downLefts.Load(),
			"node/downs that changed nothing": seen.downNoops.Load(),
		}
		t.Logf("over %d seeds: %v", seeds, counts)
		for what, n := range counts {
			if n == 0 && !t.Failed() {
				t.Errorf("no %s in any seed; the generator exercises too little", what)
			}
		}
	})
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			checkReplayProperty(t, seed, &seen)
		})
	}
}

// coverage counts what the random sessions did, over all seeds.
type coverage struct {
	trims, lefts, staleExpiries, dupWrites, startCloses, batches atomic.Int64
	fallbacks, tokenResumes                                      atomic.Int64
	downCloses, downLefts, downNoops                             atomic.Int64
}

// tally counts what one change did.
func (c *coverage) tally(ch store.Change[chat.State]) {
	a := ch.Action
	if a.Type == actions.TypeServerStart {
		for _, name := range ch.Prev.RoomNames() {
			c.startCloses.Add(int64(ch.Prev.Room(name).SessionCount()))
		}
		return
	}
	if a.Type == actions.TypeNodeDown {
		steps := chat.Diffs(ch.Prev, ch.Next, a)
		for _, d := range steps {
			if d.Closed != nil {
				c.downCloses.Add(1)
			}
			if d.Left != nil {
				c.downLefts.Add(1)
			}
		}
		if len(steps) == 0 {
			c.downNoops.Add(1)
		}
		return
	}
	d := chat.Diff(ch.Prev, ch.Next, a)
	if claim, ok := a.Payload.(actions.Connect); ok && d.Connected != nil {
		switch {
		case d.Connected.UserID != a.User:
			c.fallbacks.Add(1)
		case claim.Strict && claim.TokenHash != "" && ch.Prev.Present(a.User):
			c.tokenResumes.Add(1)
		}
	}
	switch {
	case d.Dropped > 0:
		c.trims.Add(1)
	case a.Type == actions.TypeExpirePresence && d.Left != nil:
		c.lefts.Add(1)
	case a.Type == actions.TypeExpirePresence:
		if r := ch.Prev.Room(a.Room); r != nil {
			if p, ok := r.Presence(a.User); ok && p.Sockets == 0 {
				c.staleExpiries.Add(1)
			}
		}
	case a.Type == actions.TypeWriteMessage && len(d.Appended) == 0:
		if w, _ := a.Payload.(actions.WriteMessage); w.ClientID != "" {
			if sess, ok := d.Prev.Session(a.Session); ok && sess.IsConnected {
				c.dupWrites.Add(1)
			}
		}
	}
}

func checkReplayProperty(t *testing.T, seed int64, seen *coverage) {
	rng := rand.New(rand.NewSource(seed))
	ctx := context.Background()
	dir := t.TempDir()
	history := 1 + rng.Intn(5)
	reduce := chat.NewReducer(chat.Options{History: history})
	opts := file.Options{Fsync: file.Off, KeepSnapshots: 1 << 20}
	every := uint64(8 + rng.Intn(32))
	var codec chat.Codec

	rec := &recorder{states: map[uint64][]byte{}}
	g := &generator{rng: rng, sessions: map[string]genSession{}, tokens: map[string][]string{}, clientID: map[string][]string{}}
	open := func() *store.Store[chat.State] {
		t.Helper()
		l, err := file.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(ctx, chat.State{}, reduce, store.Options[chat.State]{
			Log: batchCounter{l, &seen.batches, &g.slow}, Snapshots: l, Codec: codec, SnapshotEvery: every,
		})
		if err != nil {
			l.Close()
			t.Fatal(err)
		}
		s.Subscribe(rec.record(t))
		return s
	}
	s := open()
	n := 100 + rng.Intn(100)
	restartAt := -1
	if rng.Intn(2) == 0 {
		restartAt = rng.Intn(n)
	}
	for i := 0; i < n; i++ {
		if i == restartAt {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open()
			if got, want := encode(t, s.GetState()), rec.at(t, s.Seq()); !bytes.Equal(got, want) {
				t.Fatalf("after reopening at seq %d:\n got %s\nwant %s", s.Seq(), got, want)
			}
		}
		g.step(t, s)
	}
	last, final := s.Seq(), encode(t, s.GetState())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(); uint64(got) != last {
		t.Fatalf("subscribers saw %d changes, the store is at seq %d", got, last)
	}
	if !bytes.Equal(rec.at(t, last), final) {
		t.Fatalf("the last change seen differs from the final state")
	}

	// Replay: from seq 0, then from every snapshot, byte-equal at every seq.
	ro, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	foldAndCompare(t, ro, rec, reduce, chat.State{}, 0, last, seen.tally)
	snaps, err := ro.SnapshotSeqs()
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) < 2 {
		t.Fatalf("only %d snapshots in %d actions (every %d); the test exercises too little", len(snaps), last, every)
	}
	for _, seq := range snaps {
		data, err := ro.ReadSnapshot(seq)
		if err != nil {
			t.Fatal(err)
		}
		state, err := codec.Decode(data)
		if err != nil {
			t.Fatalf("snapshot %d: %v", seq, err)
		}
		if got := encode(t, state); !bytes.Equal(got, rec.at(t, seq)) {
			t.Fatalf("snapshot %d differs from the live state at that seq:\n got %s\nwant %s", seq, got, rec.at(t, seq))
		}
		foldAndCompare(t, ro, rec, reduce, state, seq, last, nil)
	}

	// Recovery: a store reopened on the directory holds the final state.
	s = open()
	defer s.Close()
	if s.Seq() != last {
		t.Fatalf("recovered seq %d, want %d", s.Seq(), last)
	}
	if got := encode(t, s.GetState()); !bytes.Equal(got, final) {
		t.Fatalf("recovered state differs from the live final state:\n got %s\nwant %s", got, final)
	}
}

// foldAndCompare folds the log after seq into state and checks the state
// after every record against the recorded live one.
func foldAndCompare(t *testing.T, l store.Log, rec *recorder, reduce store.Reducer[chat.State], state chat.State, seq, last uint64, tally func(store.Change[chat.State])) {
	t.Helper()
	end, endSeq, err := store.Fold(context.Background(), l, state, seq, reduce, func(ch store.Change[chat.State]) error {
		if tally != nil {
			tally(ch)
		}
		got := encode(t, ch.Next)
		if want := rec.at(t, ch.Seq); !bytes.Equal(got, want) {
			return fmt.Errorf("replay from seq %d differs at seq %d (%s %+v):\n got %s\nwant %s", seq, ch.Seq, ch.Action.Type, ch.Action, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if endSeq != last {
		t.Fatalf("replay from seq %d ended at seq %d, want %d", seq, endSeq, last)
	}
	if !bytes.Equal(encode(t, end), rec.at(t, last)) {
		t.Fatalf("replay from seq %d ends in another state", seq)
	}
}

func encode(t *testing.T, s chat.State) []byte {
	t.Helper()
	b, err := chat.Codec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batchCounter counts the appends that carry more than one action. While
// slow is set (a burst of concurrent writes) each append takes a little
// longer, as an fsync would, so that the writes waiting form one batch.
type batchCounter struct {
	*file.Log
	n    *atomic.Int64
	slow *atomic.Bool
}

func (b batchCounter) Append(ctx context.Context, batch []*actions.Action) error {
	b.count(batch)
	return b.Log.Append(ctx, batch)
}

// Write is the pipelined commit's append (store.Pipeliner).
func (b batchCounter) Write(ctx context.Context, batch []*actions.Action) (func() error, error) {
	b.count(batch)
	return b.Log.Write(ctx, batch)
}

func (b batchCounter) count(batch []*actions.Action) {
	if len(batch) > 1 {
		b.n.Add(1)
	}
	if b.slow.Load() {
		time.Sleep(time.Millisecond)
	}
}

// recorder keeps the encoded state after every seq, as subscribers see it.
type recorder struct {
	mu     sync.Mutex
	states map[uint64][]byte
	errs   []string
}

func (r *recorder) record(t *testing.T) store.Subscriber[chat.State] {
	return func(c store.Change[chat.State]) {
		b, err := chat.Codec{}.Encode(c.Next)
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, dup := r.states[c.Seq]; dup || err != nil {
			r.errs = append(r.errs, fmt.Sprintf("seq %d seen twice, or encoding failed: %v", c.Seq, err))
		}
		r.states[c.Seq] = b
	}
}

func (r *recorder) at(t *testing.T, seq uint64) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatal(r.errs)
	}
	if seq == 0 {
		return encode(t, chat.State{})
	}
	b, ok := r.states[seq]
	if !ok {
		t.Fatalf("no change was seen at seq %d", seq)
	}
	return b
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.states)
}

// generator makes random actions the way transport and middleware would:
// sessions are opened before they connect, a close names the session's
// user, an expiry names the seq its timer was started for.
type generator struct {
	rng      *rand.Rand
	next     int                   // action and session counter
	sessions map[string]genSession // every session ever opened, by id
	clientID map[string][]string   // clientIds used so far by user ("": by anyone), for duplicates
	tokens   map[string][]string   // token hashes handed to each id
	slow     atomic.Bool           // set during a burst of concurrent writes
}

type genSession struct {
	room, user, node string
	open             bool
}

var (
	genRooms = []string{"lobby", "dev", "r-3"}
	genUsers = []string{"u1", "u2", "u3", "u4", "u5"}
	genNodes = []string{"", "n1", "n2", "n3"} // "": a single-node server's socket
	genT0    = time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC)
)

// stamp fills in what the stamp middleware would: an id and a time.
func (g *generator) stamp(a *actions.Action) *actions.Action {
	g.next++
	a.ID = fmt.Sprintf("act-%d", g.next)
	a.At = genT0.Add(time.Duration(g.next) * 1_234_567 * time.Nanosecond)
	return a
}

func (g *generator) dispatch(t *testing.T, s *store.Store[chat.State], a *actions.Action) {
	t.Helper()
	if err := s.Dispatch(context.Background(), g.stamp(a)); err != nil {
		t.Fatalf("dispatch %+v: %v", a, err)
	}
}

// pick returns a random session id: an open one with probability p.
func (g *generator) pick(p float64) (string, genSession, bool) {
	var open, all []string
	for id, sess := range g.sessions {
		all = append(all, id)
		if sess.open {
			open = append(open, id)
		}
	}
	if len(all) == 0 {
		return "", genSession{}, false
	}
	// Map iteration order is random; sort-free determinism is not needed
	// for the property, but keep the rng the only source of choice.
	slices.Sort(open)
	slices.Sort(all)
	list := all
	if len(open) > 0 && g.rng.Float64() < p {
		list = open
	}
	id := list[g.rng.Intn(len(list))]
	return id, g.sessions[id], true
}

func (g *generator) openSession(t *testing.T, s *store.Store[chat.State], room string) string {
	g.next++
	id := fmt.Sprintf("s%d", g.next)
	node := genNodes[g.rng.Intn(len(genNodes))]
	g.sessions[id] = genSession{room: room, node: node, open: true}
	a := &actions.Action{Type: actions.TypeOpenSession, Room: room, Session: id}
	if node != "" || g.rng.Intn(2) == 0 {
		a.Payload = actions.Open{Node: node} // else the open of a log written before nodes
	}
	g.dispatch(t, s, a)
	return id
}

// connect claims user for the session the way transport and auth do: a
// plain claim (v1), a strict one (v2) with a token the id was given, a
// wrong one or none, or one that auth has verified; with a fresh id to
// fall back on. The session then belongs to whichever id it got.
func (g *generator) connect(t *testing.T, s *store.Store[chat.State], id, user string) {
	sess := g.sessions[id]
	g.next++
	c := actions.Connect{Username: "name-" + user, Fallback: fmt.Sprintf("fresh-%d", g.next)}
	switch r := g.rng.Intn(20); {
	case r < 10: // plain
	case r < 17: // strict
		c.Strict = true
		c.NewTokenHash = fmt.Sprintf("hash-%d", g.next)
		if tokens := g.tokens[user]; len(tokens) > 0 && r < 14 {
			c.TokenHash = tokens[g.rng.Intn(len(tokens))]
		} else if r < 16 {
			c.TokenHash = "hash-of-a-wrong-token"
		}
	default:
		c.Verified = true
	}
	g.dispatch(t, s, &actions.Action{Type: actions.TypeConnect, Room: sess.room, Session: id, User: user, Payload: c})
	if r := s.GetState().Room(sess.room); r != nil {
		if got, ok := r.Session(id); ok && got.IsConnected && sess.user == "" {
			sess.user = got.UserID
			g.sessions[id] = sess
			if c.Strict && got.UserID == user {
				g.tokens[user] = append(g.tokens[user], c.NewTokenHash)
			}
		}
	}
}

func (g *generator) closeSession(t *testing.T, s *store.Store[chat.State], id string) {
	sess := g.sessions[id]
	sess.open = false
	g.sessions[id] = sess
	g.dispatch(t, s, &actions.Action{Type: actions.TypeCloseSession, Room: sess.room, Session: id, User: sess.user})
}

func (g *generator) write(id string) *actions.Action {
	sess := g.sessions[id]
	w := actions.WriteMessage{Message: fmt.Sprintf("msg %d from %s", g.rng.Intn(1000), id)}
	// Duplicates are mostly the same user's (those the reducer ignores),
	// sometimes anyone's (a clientId is only unique per user).
	used := g.clientID[sess.user]
	if g.rng.Intn(4) == 0 {
		used = g.clientID[""]
	}
	switch r := g.rng.Intn(10); {
	case r < 4: // no clientId
	case r < 8 || len(used) == 0:
		w.ClientID = fmt.Sprintf("c%d", g.rng.Int63())
		g.clientID[sess.user] = append(g.clientID[sess.user], w.ClientID)
		g.clientID[""] = append(g.clientID[""], w.ClientID)
	default: // a duplicate, mostly of a recent one
		k := len(used) - 1 - g.rng.Intn(min(len(used), 4))
		if g.rng.Intn(4) == 0 {
			k = g.rng.Intn(len(used))
		}
		w.ClientID = used[k]
	}
	return &actions.Action{Type: actions.TypeWriteMessage, Room: sess.room, Session: id, User: sess.user, Payload: w}
}

// step dispatches one random action, or a few that belong together.
func (g *generator) step(t *testing.T, s *store.Store[chat.State]) {
	t.Helper()
	rng := g.rng
	switch r := rng.Intn(100); {
	case r < 14 || len(g.sessions) == 0:
		g.openSession(t, s, genRooms[rng.Intn(len(genRooms))])
	case r < 28:
		id, _, _ := g.pick(0.8)
		g.connect(t, s, id, genUsers[rng.Intn(len(genUsers))])
	case r < 36:
		id, _, _ := g.pick(0.9)
		g.closeSession(t, s, id)
	case r < 41: // a page reload: the socket closes, a new one connects as the same user
		id, sess, _ := g.pick(1)
		if sess.user == "" {
			return
		}
		g.closeSession(t, s, id)
		g.connect(t, s, g.openSession(t, s, sess.room), sess.user)
	case r < 76:
		id, _, _ := g.pick(0.9)
		g.dispatch(t, s, g.write(id))
	case r < 82: // several writers at once: one log batch
		g.slow.Store(true)
		defer g.slow.Store(false)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 2 + rng.Intn(6) {
			id, _, _ := g.pick(1)
			a := g.stamp(g.write(id))
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Dispatch(context.Background(), a); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	case r < 92:
		g.expire(t, s)
	case r < 97:
		g.nodeDown(t, s)
	default:
		for id, sess := range g.sessions {
			sess.open = false
			g.sessions[id] = sess
		}
		g.dispatch(t, s, &actions.Action{Type: actions.TypeServerStart})
	}
}

// nodeDown dispatches the node/down a surviving node would send for a node
// (sometimes one that holds nothing), and sometimes a second survivor's
// repeat of it.
func (g *generator) nodeDown(t *testing.T, s *store.Store[chat.State]) {
	node := []string{"n1", "n2", "n3", "n9"}[g.rng.Intn(4)]
	for id, sess := range g.sessions {
		if sess.node == node {
			sess.open = false
			g.sessions[id] = sess
		}
	}
	for range 1 + g.rng.Intn(2) {
		g.dispatch(t, s, &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: node}})
	}
}

// expire dispatches the expiry a grace timer would send (since = the seq
// that closed the user's last socket), or a stale or early one.
func (g *generator) expire(t *testing.T, s *store.Store[chat.State]) {
	room := genRooms[g.rng.Intn(len(genRooms))]
	user := genUsers[g.rng.Intn(len(genUsers))]
	var since uint64
	if r := s.GetState().Room(room); r != nil {
		if p, ok := r.Presence(user); ok {
			since = p.LeftAt
		}
	}
	switch g.rng.Intn(5) {
	case 0:
		since = uint64(g.rng.Intn(int(s.Seq()) + 1)) // stale, or from the future
	case 1:
		if since > 0 {
			since-- // an earlier leave's timer
		}
	}
	g.dispatch(t, s, &actions.Action{Type: actions.TypeExpirePresence, Room: room, User: user,
		Payload: actions.Expire{Since: since}})
}

// TestReplayKeepsActionTimes: an action's At enters the state (a message's
// at), so the live state equals the replayed one only if the log gives At
// back exactly as it was applied.
func TestReplayKeepsActionTimes(t *testing.T) {
	t.Parallel()
	for name, at := range map[string]time.Time{
		"another zone": time.Date(2026, 11, 25, 19, 0, 0, 5, time.FixedZone("CET", 3600)),
		"Unix epoch":   time.Unix(0, 0).UTC(),
		"year 3000":    time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := file.Open(dir, file.Options{Fsync: file.Off})
			if err != nil {
				t.Fatal(err)
			}
			reduce := chat.NewReducer(chat.Options{})
			s, err := store.Open(context.Background(), chat.State{}, reduce, store.Options[chat.State]{Log: l})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range []*actions.Action{open("r", "s1"), connect("r", "s1", "1", "ann"), write("r", "s1", "hi")} {
				a.At = at
				if err := s.Dispatch(context.Background(), a); err != nil {
					t.Fatal(err)
				}
			}
			live := encode(t, s.GetState())
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			ro, err := file.Open(dir, file.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			replayed, _, err := store.Fold(context.Background(), ro, chat.State{}, 0, reduce, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := encode(t, replayed); !bytes.Equal(got, live) {
				t.Fatalf("replayed state differs from the live one:\n got %s\nwant %s", got, live)
			}
		})
	}
}
