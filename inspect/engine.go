package inspect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// refreshEvery is how often the inspector looks for new records of a log
// it follows, and the least time between two reopenings of the log its
// requests read.
const (
	refreshEvery   = time.Second
	reopenAtLeast  = 200 * time.Millisecond
	maxReadRecords = 200_000 // records one listing request may read
)

// engine answers the inspector's questions about one log. Requests read it
// through one handle, reopened when they ask for records appended after
// it was opened; a goroutine indexes it and follows it.
type engine struct {
	src    Source
	reduce store.Reducer[chat.State]
	idx    index
	feed   *feed
	live   bool   // the feed is fed by the store, not by following the log
	seen   string // the version of the source last indexed (versioned)
	log    zerolog.Logger

	mu     sync.Mutex
	cur    store.Log
	snaps  store.SnapshotLister
	opened time.Time

	// Beside a server (live.go): the store's changes not yet indexed, and
	// whether the index follows the store directly.
	pmu      sync.Mutex
	pending  []pendingChange
	caughtUp bool
	unsub    func()

	bg     context.Context // ends with close
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// newEngine opens src. With st, the running server's store, it learns of
// new actions from the store; without, it follows the log's files.
func newEngine(ctx context.Context, src Source, history int, st *store.Store[chat.State], log zerolog.Logger) (*engine, error) {
	cur, snaps, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	e := &engine{src: src, reduce: chat.NewReducer(chat.Options{History: history}), feed: newFeed(), live: st != nil, log: log,
		cur: cur, snaps: snaps, opened: time.Now(), done: make(chan struct{}), unsub: func() {}}
	e.feed.setLast(cur.LastSeq())
	if st != nil {
		e.unsub = st.Subscribe(e.onChange)
		e.feed.setLast(st.Seq())
	}
	e.bg, e.cancel = context.WithCancel(context.Background())
	go e.follow(e.bg)
	return e, nil
}

// close stops the engine, ends the live tails and releases the log. Calls
// after the first do nothing.
func (e *engine) close() (err error) {
	e.once.Do(func() {
		e.unsub()
		e.cancel()
		<-e.done
		e.mu.Lock()
		defer e.mu.Unlock()
		err = e.cur.Close()
	})
	return err
}

// follow indexes the log, then what is appended to it, until ctx ends;
// beside a server, only until the index caught up with the store's
// changes (onChange indexes the rest).
func (e *engine) follow(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for wait := refreshEvery; ; {
		if err := e.indexOnce(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn().Err(err).Msg("inspect: indexing the log failed; trying again")
		}
		if e.live {
			if e.catchUp() {
				return // the store's changes go to the index from now on
			}
			wait = reopenAtLeast
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// indexOnce opens the log afresh and indexes its new records; while the
// feed follows the log (no store), it hands them on to the feed.
func (e *engine) indexOnce(ctx context.Context) error {
	if v, ok := e.src.(versioned); ok {
		version, err := v.version()
		if err != nil || version == e.seen {
			return err
		}
		defer func() { e.seen = version }()
	}
	log, snaps, err := e.src.Open(ctx)
	if err != nil {
		return err
	}
	defer log.Close()
	if tip, ok := e.idx.tipState(); ok && log.LastSeq() <= tip.seq {
		return nil
	}
	if err := e.idx.build(ctx, log, snaps, e.reduce); err != nil {
		return err
	}
	if !e.live {
		tip, _ := e.idx.tipState()
		e.feed.setLast(tip.seq)
	}
	return nil
}

// withLog calls fn with the log as requests see it, reopened first if it
// ends before need and was opened more than reopenAtLeast ago.
func (e *engine) withLog(ctx context.Context, need uint64, fn func(store.Log, store.SnapshotLister) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur.LastSeq() < need && time.Since(e.opened) > reopenAtLeast {
		log, snaps, err := e.src.Open(ctx)
		if err != nil {
			return err
		}
		e.cur.Close()
		e.cur, e.snaps, e.opened = log, snaps, time.Now()
	}
	return fn(e.cur, e.snaps)
}

// following reports whether the index follows the store directly: it then
// holds every action applied, and the log need not be read for new ones.
func (e *engine) following() bool {
	e.pmu.Lock()
	defer e.pmu.Unlock()
	return e.caughtUp
}

// bounds returns the seq folds start from and the last seq of the log.
func (e *engine) bounds(ctx context.Context) (from, last uint64, err error) {
	if e.following() {
		start, tip := e.idx.span()
		return start, tip, nil
	}
	err = e.withLog(ctx, max(e.feed.lastSeq(), 1), func(log store.Log, snaps store.SnapshotLister) error {
		last = log.LastSeq()
		if first := log.FirstSeq(); first > 1 {
			from = first - 1
		}
		return nil
	})
	return from, last, err
}

// stateAt returns the state after seq (the log's last, if seq is past it),
// and that seq, folding from the newest checkpoint at or before it, else
// from the newest snapshot at or before it.
func (e *engine) stateAt(ctx context.Context, seq uint64) (chat.State, uint64, error) {
	var state chat.State
	err := e.withLog(ctx, seq, func(log store.Log, snaps store.SnapshotLister) error {
		seq = min(seq, log.LastSeq())
		cp, ok := e.idx.before(seq)
		if !ok {
			var err error
			if snaps != nil {
				cp.state, cp.seq, err = store.Start[chat.State](log, snaps, chat.Codec{}, chat.State{}, seq)
			} else {
				cp.state, cp.seq, err = startOf(log, nil)
			}
			if err != nil {
				return err
			}
			if cp.seq > seq {
				return fmt.Errorf("seq %d is before the oldest state the log holds (after seq %d)", seq, cp.seq)
			}
		}
		if cp.seq == seq {
			state = cp.state
			return nil
		}
		state = cp.state
		ok, err := e.idx.records(cp.seq, seq, func(a *actions.Action) error {
			state = reduceSafely(e.reduce, state, a)
			return nil
		})
		if ok {
			return err
		}
		state, _, err = store.Fold(ctx, log, cp.state, cp.seq, e.reduce, func(c store.Change[chat.State]) error {
			if c.Seq > seq {
				return errStop
			}
			return nil
		})
		if errors.Is(err, errStop) {
			err = nil
		}
		return err
	})
	return state, seq, err
}

// step returns the action at seq and the states before and after it, its
// Outcome computed again.
func (e *engine) step(ctx context.Context, seq uint64) (*actions.Action, chat.State, chat.State, error) {
	prev, at, err := e.stateAt(ctx, seq-1)
	if err != nil {
		return nil, prev, prev, err
	}
	if at != seq-1 {
		return nil, prev, prev, fmt.Errorf("no action at seq %d", seq)
	}
	var a *actions.Action
	keep := func(r *actions.Action) error {
		c := *r
		a = &c
		return errStop
	}
	if ok, _ := e.idx.scan(seq, seq, keep); ok && a != nil {
		return e.stepOf(a, prev)
	}
	err = e.withLog(ctx, seq, func(log store.Log, _ store.SnapshotLister) error {
		err := log.Read(ctx, seq, func(r *actions.Action) error {
			c := *r
			a = &c
			return errStop
		})
		if errors.Is(err, errStop) {
			err = nil
		}
		return err
	})
	if err == nil && (a == nil || a.Seq != seq) {
		err = fmt.Errorf("no action at seq %d", seq)
	}
	if err != nil {
		return nil, prev, prev, err
	}
	return e.stepOf(a, prev)
}

// stepOf applies a to prev and computes its Outcome.
func (e *engine) stepOf(a *actions.Action, prev chat.State) (*actions.Action, chat.State, chat.State, error) {
	next := reduceSafely(e.reduce, prev, a)
	a.Outcome = chat.OutcomeOf(prev, next, a)
	return a, prev, next, nil
}

// reduceSafely is the reducer, keeping prev if it panics (as the store does).
func reduceSafely(reduce store.Reducer[chat.State], prev chat.State, a *actions.Action) (next chat.State) {
	defer func() {
		if recover() != nil {
			next = prev
		}
	}()
	return reduce(prev, a)
}
