package inspect

import (
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// Beside a running server, the index learns of new actions from the
// store, with the state after each, instead of reading the log again:
// changes that come while the log is indexed wait in pending, and once the
// index reached the first of them, every later one goes straight in.

// pendingChange is a change of the store that came before the index
// caught up with it.
type pendingChange struct {
	action *actions.Action
	next   chat.State
}

// onChange is the store's subscriber: it runs in the apply loop.
func (e *engine) onChange(c store.Change[chat.State]) {
	e.feed.setLast(c.Seq)
	e.pmu.Lock()
	defer e.pmu.Unlock()
	if e.caughtUp {
		if tip, _ := e.idx.tipState(); c.Seq == tip.seq+1 {
			e.idx.add(c.Action, c.Next)
		}
		return
	}
	a := *c.Action
	e.pending = append(e.pending, pendingChange{action: &a, next: c.Next})
}

// catchUp moves the pending changes that follow the index's tip into it,
// and reports whether the index now follows the store directly: it does
// once no change is missing between the tip and the pending ones.
func (e *engine) catchUp() bool {
	e.pmu.Lock()
	defer e.pmu.Unlock()
	tip, ok := e.idx.tipState()
	if !ok {
		return false
	}
	for len(e.pending) > 0 && e.pending[0].action.Seq <= tip.seq+1 {
		if p := e.pending[0]; p.action.Seq == tip.seq+1 {
			e.idx.add(p.action, p.next)
			tip.seq++
		}
		e.pending = e.pending[1:]
	}
	if len(e.pending) > 0 {
		return false // the log did not show the changes before them yet
	}
	e.pending, e.caughtUp = nil, true
	return true
}
