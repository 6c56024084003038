package whatif

import (
	"context"
	"sync"

	"github.com/statecast/statecast/actions"
)

// sandboxLog is the sandbox store's log. It holds nothing: it only gives
// each action its seq. A recorded action (known by its ID) gets its
// recorded seq when that is still ahead; any other action, and a recorded
// one whose seq was taken, gets the next one.
type sandboxLog struct {
	mu     sync.Mutex
	last   uint64
	wanted map[string]uint64 // recorded seq by action ID, while in flight
}

func newSandboxLog() *sandboxLog { return &sandboxLog{wanted: map[string]uint64{}} }

// want asks that the action with id get seq.
func (l *sandboxLog) want(id string, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wanted[id] = seq
}

// Append implements store.Log.
func (l *sandboxLog) Append(_ context.Context, batch []*actions.Action) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range batch {
		seq := l.last + 1
		if w, ok := l.wanted[a.ID]; ok && w > l.last {
			seq = w
		}
		delete(l.wanted, a.ID)
		a.Seq, l.last = seq, seq
	}
	return nil
}

// LastSeq implements store.Log.
func (l *sandboxLog) LastSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// FirstSeq implements store.Log: the sandbox holds no record.
func (l *sandboxLog) FirstSeq() uint64 { return 0 }

// Read implements store.Log: the sandbox holds no record.
func (l *sandboxLog) Read(context.Context, uint64, func(*actions.Action) error) error { return nil }

// Close implements store.Log.
func (l *sandboxLog) Close() error { return nil }
