package file

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// modelSeeds is how many seeds each model test runs per fsync policy;
// more with `go test ./store/file -run Model -model.seeds 2000`.
var modelSeeds = flag.Int("model.seeds", 12, "seeds per fsync policy of the file log's model tests")

// outcomes is what the senders of actions were told, keyed by action ID.
type outcomes struct {
	mu       sync.Mutex
	acked    map[string]uint64 // the seq Append or Dispatch gave
	ackIndex map[string]int64  // the order of the acknowledgements
	refused  map[string]bool   // told no before the crash
	sent     map[string]bool   // every action sent
	acks     atomic.Int64
	syncMark atomic.Int64 // acks counted when the last successful segment fsync began
}

func newOutcomes() *outcomes {
	return &outcomes{acked: map[string]uint64{}, ackIndex: map[string]int64{}, refused: map[string]bool{}, sent: map[string]bool{}}
}

// record notes the answer to the sender of a; crashed says the process
// had died by then (its sender would never have heard it).
func (o *outcomes) record(a *actions.Action, seq uint64, err error, crashed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case crashed:
	case err == nil:
		o.acked[a.ID] = seq
		o.ackIndex[a.ID] = o.acks.Add(1)
	default:
		o.refused[a.ID] = true
	}
}

// check reads the recovered log l and checks it against the promise of
// policy: records 1..n in order; nothing refused; every acknowledged
// action at its seq; and every acknowledgement the policy makes durable
// there: all of them under Always or after a mere process crash, those
// before the last successful fsync otherwise.
func (o *outcomes) check(t *testing.T, l *Log, policy Fsync, powerLoss bool, what string) {
	t.Helper()
	got := map[string]uint64{}
	err := l.Read(context.Background(), 0, func(a *actions.Action) error {
		switch {
		case !o.sent[a.ID]:
			return fmt.Errorf("seq %d holds %q, never sent", a.Seq, a.ID)
		case o.refused[a.ID]:
			return fmt.Errorf("seq %d holds %q, which was refused", a.Seq, a.ID)
		case got[a.ID] != 0:
			return fmt.Errorf("%q at seqs %d and %d", a.ID, got[a.ID], a.Seq)
		}
		if seq, ok := o.acked[a.ID]; ok && seq != a.Seq {
			return fmt.Errorf("%q at seq %d, acknowledged at %d", a.ID, a.Seq, seq)
		}
		got[a.ID] = a.Seq
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	mark := o.syncMark.Load()
	for id, seq := range o.acked {
		promised := policy == Always || !powerLoss || o.ackIndex[id] < mark
		if _, ok := got[id]; !ok && promised {
			t.Fatalf("%s: %q, acknowledged at seq %d, is lost (fsync %s, power loss %v; %d records recovered)",
				what, id, seq, policy, powerLoss, len(got))
		}
	}
}

// durableLastSeq returns the last seq on the disk of fsys in dir's log, as
// recovery would find it.
func durableLastSeq(fsys *faultFS, dir string) uint64 {
	segs, _ := listSegmentsIn(fsys.uncrashed(), filepath.Join(dir, "log"))
	var last uint64
	for _, seg := range segs {
		b := fsys.durable(seg.path)
		if b == nil || seg.first != last+1 {
			break
		}
		sc, err := scanSegment(seg.path, bytes.NewReader(b), int64(len(b)), seg.first, true, false, nil)
		if err != nil {
			break
		}
		last = sc.next - 1
	}
	return last
}

// randomFaults makes fsys fail writes (some short), fsyncs, truncates and
// opens with probabilities drawn from rng, with ENOSPC or EIO.
func randomFaults(fsys *faultFS, rng *rand.Rand) {
	p := map[string]float64{}
	for _, op := range []string{"open", "write", "sync", "truncate", "remove"} {
		p[op] = rng.Float64() * 0.08
	}
	fsys.inject = func(op, _ string) (error, bool) {
		if fsys.rng.Float64() >= p[op] {
			return nil, false
		}
		err := errNoSpace
		if fsys.rng.IntN(2) == 0 {
			err = errIO
		}
		return err, fsys.rng.IntN(2) == 0
	}
}

func TestModelUnderFaultsAndPowerLoss(t *testing.T) {
	t.Parallel()
	for _, policy := range []Fsync{Always, Interval, Off} {
		t.Run(policy.String(), func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= uint64(*modelSeeds); seed++ {
				runModel(t, policy, seed)
			}
		})
	}
}

// runModel sends actions from several goroutines through a store on a
// file log whose disk fails at random, crashes it at a random step, loses
// power, recovers, and checks the outcomes.
func runModel(t *testing.T, policy Fsync, seed uint64) {
	what := fmt.Sprintf("fsync %s, seed %d", policy, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	fsys := newFaultFS(seed)
	dir := t.TempDir()
	opts := Options{Fsync: policy, SegmentSize: 200 + rng.Int64N(2000), fs: fsys, healEvery: time.Millisecond}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	o := newOutcomes()
	fsys.onSync = func() { o.syncMark.Store(o.acks.Load()) }
	randomFaults(fsys, rng)
	fsys.mu.Lock()
	fsys.crashAt = fsys.ops + 1 + rng.IntN(600)
	fsys.mu.Unlock()

	st, err := store.Open(context.Background(), 0, func(n int, _ *actions.Action) int { return n + 1 }, store.Options[int]{Log: l})
	if err != nil {
		t.Fatalf("%s: store.Open: %v", what, err)
	}
	var early atomic.Value
	st.Subscribe(func(c store.Change[int]) {
		if policy == Always && c.Seq > durableLastSeq(fsys, dir) && early.Load() == nil {
			early.Store(fmt.Sprintf("seq %d was visible before it was on the disk", c.Seq))
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				a := &actions.Action{ID: fmt.Sprintf("%d-%d", g, i), Type: actions.TypeWriteMessage, Room: "r", User: "u",
					Payload: actions.WriteMessage{Message: strings.Repeat("x", i)}}
				o.mu.Lock()
				o.sent[a.ID] = true
				o.mu.Unlock()
				err := st.Dispatch(context.Background(), a)
				crashed := fsys.isCrashed()
				o.record(a, a.Seq, err, crashed)
				if err != nil && !crashed && !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s: a refusal that is not ErrUnavailable: %v", what, err)
				}
				if err != nil {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	fsys.mu.Lock()
	fsys.crashed = true // the plug is pulled, if the crash did not come yet
	fsys.mu.Unlock()
	st.Close()
	if msg := early.Load(); msg != nil {
		t.Fatalf("%s: %s", what, msg)
	}

	powerLoss, torn := rng.IntN(4) != 0, rng.IntN(2) == 0
	fsys.restart(powerLoss, torn)
	l, err = Open(dir, Options{Fsync: policy, SegmentSize: opts.SegmentSize, fs: fsys})
	if err != nil {
		t.Fatalf("%s: recovery after a crash (power loss %v, torn %v): %v", what, powerLoss, torn, err)
	}
	defer l.Close()
	o.check(t, l, policy, powerLoss, what)
	if err := l.Append(context.Background(), []*actions.Action{message(1)}); err != nil {
		t.Fatalf("%s: append after recovery: %v", what, err)
	}
}
