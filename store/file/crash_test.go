package file

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

// crashScenario appends 14 batches of one to three actions to a log on
// fsys, through segment rolls; the fifth batch's write is cut short and
// the truncate that should cut it back fails, so the log writes a CUT
// marker and heals before going on. That write leaves the first action of
// its batch complete on the disk, with a valid checksum. It records what each sender was told,
// and reports the file-system operations it took.
func crashScenario(t *testing.T, fsys *faultFS, dir string, policy Fsync, o *outcomes) int {
	t.Helper()
	failWrite, truncates := false, 0
	fsys.shortLen = func(n int) int { return n - 3 }
	fsys.inject = func(op, name string) (error, bool) {
		switch {
		case op == "write" && failWrite && len(fsys.files[name].data) >= segmentHeaderSize: // not a new segment's header
			failWrite = false
			return errNoSpace, true
		case op == "truncate":
			if truncates++; truncates == 1 {
				return errIO, false
			}
		}
		return nil, false
	}
	opts := Options{Fsync: policy, SegmentSize: 150, fs: fsys, healEvery: time.Millisecond}
	l, err := Open(dir, opts)
	if err != nil {
		return 0 // crashed while opening: nothing was sent
	}
	id := 0
	for b := range 14 {
		var batch []*actions.Action
		for range 1 + b%3 {
			id++
			a := message(id)
			a.ID = fmt.Sprint(id)
			o.sent[a.ID] = true
			batch = append(batch, a)
		}
		fsys.mu.Lock()
		failWrite = b == 4
		fsys.mu.Unlock()
		err := l.Append(context.Background(), batch)
		for _, a := range batch {
			o.record(a, a.Seq, err, fsys.isCrashed())
		}
		for deadline := time.Now().Add(5 * time.Second); err != nil && !fsys.isCrashed() && l.Err() != nil; {
			if time.Now().After(deadline) {
				t.Fatalf("the log did not heal: %v", l.Err())
			}
			time.Sleep(time.Millisecond)
		}
	}
	l.Close()
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	return fsys.ops
}

func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, policy := range []Fsync{Always, Interval, Off} {
		t.Run(policy.String(), func(t *testing.T) {
			t.Parallel()
			dry := newOutcomes()
			steps := crashScenario(t, newFaultFS(1), t.TempDir(), policy, dry)
			if len(dry.refused) == 0 || len(dry.acked) < 20 {
				t.Fatalf("the scenario refused %d and acknowledged %d actions; want some of each", len(dry.refused), len(dry.acked))
			}
			for step := 1; step <= steps; step++ {
				for _, loss := range []struct{ power, torn bool }{{false, false}, {true, false}, {true, true}} {
					fsys, dir, o := newFaultFS(uint64(step)), t.TempDir(), newOutcomes()
					fsys.onSync = func() { o.syncMark.Store(o.acks.Load()) }
					fsys.crashAt = step
					crashScenario(t, fsys, dir, policy, o)
					fsys.restart(loss.power, loss.torn)
					what := fmt.Sprintf("crash at step %d of %d, power loss %v, torn %v", step, steps, loss.power, loss.torn)
					l, err := Open(dir, Options{Fsync: policy, SegmentSize: 150, fs: fsys})
					if err != nil {
						t.Fatalf("%s: recovery: %v", what, err)
					}
					o.check(t, l, policy, loss.power, what)
					l.Close()
				}
			}
		})
	}
}
