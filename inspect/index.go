package inspect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// checkpointEvery is how many seqs lie between two states the index keeps.
// States share what they did not change, so a checkpoint costs only what
// its actions changed.
const checkpointEvery = 256

// checkpoint is the state after seq, and the time of that action.
type checkpoint struct {
	seq   uint64
	at    time.Time
	state chat.State
}

// index holds checkpoints of the log from its start: the state after every
// checkpointEvery-th seq. A fold to any seq starts from the newest
// checkpoint at or before it.
type index struct {
	mu     sync.RWMutex
	cps    []checkpoint // by seq
	tip    checkpoint   // the state after the last record indexed
	ready  bool         // tip is set
	blocks []*block     // the records after each checkpoint
}

// start sets the state the log's fold begins with.
func (x *index) start(state chat.State, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.tip, x.ready = checkpoint{seq: seq, state: state}, true
	x.cps = append(x.cps, x.tip)
}

// tipState returns the state after the last record indexed.
func (x *index) tipState() (checkpoint, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.tip, x.ready
}

// add records the state after a; every checkpointEvery-th becomes a
// checkpoint.
func (x *index) add(a *actions.Action, next chat.State) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.tip = checkpoint{seq: a.Seq, at: a.At, state: next}
	x.addRecord(a)
	if a.Seq%checkpointEvery == 0 {
		x.cps = append(x.cps, x.tip)
	}
}

// span returns the seq the index starts from and its tip's.
func (x *index) span() (start, tip uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(x.cps) > 0 {
		start = x.cps[0].seq
	}
	return start, x.tip.seq
}

// before returns the newest checkpoint at or before seq.
func (x *index) before(seq uint64) (checkpoint, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.ready && x.tip.seq <= seq {
		return x.tip, true
	}
	i := sort.Search(len(x.cps), func(i int) bool { return x.cps[i].seq > seq })
	if i == 0 {
		return checkpoint{}, false
	}
	return x.cps[i-1], true
}

// atOrBefore returns the newest checkpoint whose action came at or before
// t (the start counts as before every time).
func (x *index) atOrBefore(t time.Time) (checkpoint, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.ready && !x.tip.at.IsZero() && !x.tip.at.After(t) {
		return x.tip, true
	}
	i := sort.Search(len(x.cps), func(i int) bool { return !x.cps[i].at.IsZero() && x.cps[i].at.After(t) })
	if i == 0 {
		return checkpoint{}, false
	}
	return x.cps[i-1], true
}

// errStop ends a read early without being an error.
var errStop = errors.New("stop")

// startOf returns the state a fold of log begins with: store.Start's
// choice for seq 0, or for a stream whose first records were removed, the
// empty state before its first record.
func startOf(log store.Log, snaps store.SnapshotLister) (chat.State, uint64, error) {
	if snaps == nil {
		if first := log.FirstSeq(); first > 1 {
			return chat.State{}, first - 1, nil
		}
		return chat.State{}, 0, nil
	}
	return store.Start[chat.State](log, snaps, chat.Codec{}, chat.State{}, 0)
}

// build folds log's records after the index's tip into it.
func (x *index) build(ctx context.Context, log store.Log, snaps store.SnapshotLister, reduce store.Reducer[chat.State]) error {
	tip, ok := x.tipState()
	if !ok {
		state, seq, err := startOf(log, snaps)
		if err != nil {
			return err
		}
		x.start(state, seq)
		tip = checkpoint{seq: seq, state: state}
	}
	_, _, err := store.Fold(ctx, log, tip.state, tip.seq, reduce, func(c store.Change[chat.State]) error {
		x.add(c.Action, c.Next)
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing the log: %w", err)
	}
	return nil
}
