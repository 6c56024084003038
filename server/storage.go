package server

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
	"github.com/statecast/statecast/store/file"
)

// redoEvery is how often refused socket closes and presence expiries are
// dispatched again while the storage is failing.
const redoEvery = 250 * time.Millisecond

// storageReady returns the /readyz check of a server on the file log l:
// not ready, with the reason, while l refuses appends.
func storageReady(l *file.Log) func() error {
	return func() error {
		if err := l.Err(); err != nil {
			return fmt.Errorf("storage failing: %w", err)
		}
		return nil
	}
}

// redo keeps the socket closes and presence expiries that the log refused
// with store.ErrUnavailable (its disk is full or failing) and dispatches
// them again until the log takes them. They record what already happened,
// a socket gone or a grace period over: dropping them would leave users
// and sockets listed for good. Other actions are the sender's to retry.
type redo struct {
	store *store.Store[chat.State]
	log   zerolog.Logger

	mu      sync.Mutex
	queue   []redoItem
	running bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

type redoItem struct {
	ctx context.Context
	a   actions.Action
}

func newRedo(st *store.Store[chat.State], log zerolog.Logger) *redo {
	return &redo{store: st, log: log, stop: make(chan struct{})}
}

// middleware keeps a copy of every close and expiry refused as
// unavailable. Install it outermost, so that a redone action passes the
// whole chain again.
func (r *redo) middleware(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		err := next(ctx, a)
		if err != nil && errors.Is(err, store.ErrUnavailable) &&
			(a.Type == actions.TypeCloseSession || a.Type == actions.TypeExpirePresence) {
			c := *a
			c.Seq, c.Outcome = 0, actions.Outcome{}
			r.keep(redoItem{ctx: context.WithoutCancel(ctx), a: c})
		}
		return err
	}
}

func (r *redo) keep(it redoItem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.queue = append(r.queue, it)
	r.log.Warn().Str("type", it.a.Type).Str("room", it.a.Room).Str("session", it.a.Session).Str("user", it.a.User).
		Msg("the log refused this; it is dispatched again once the storage heals")
	if !r.running {
		r.running = true
		r.wg.Add(1)
		go r.run()
	}
}

// run dispatches the kept actions again every redoEvery until none is
// left (one refused again is kept again, by the middleware) or close.
func (r *redo) run() {
	defer r.wg.Done()
	t := time.NewTicker(redoEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		items := r.queue
		r.queue = nil
		r.mu.Unlock()
		for i, it := range items {
			a := it.a
			err := r.store.Dispatch(it.ctx, &a)
			if errors.Is(err, store.ErrUnavailable) {
				r.mu.Lock()
				r.queue = append(r.queue, items[i+1:]...) // this one was kept again
				r.mu.Unlock()
				break
			}
			if err != nil {
				r.log.Error().Err(err).Str("type", a.Type).Msg("dispatching a refused action again failed")
			}
		}
		r.mu.Lock()
		done := len(r.queue) == 0
		if done {
			r.running = false
		}
		r.mu.Unlock()
		if done {
			return
		}
	}
}

// close stops redoing, and waits for a dispatch in progress. What is left
// is re-derived at the next start: TypeServerStart closes every socket the
// state still lists, and presence resumes the grace periods.
func (r *redo) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	r.wg.Wait()
}
