package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
)

// follower is the part of a store that runs on a Follower log: the apply
// loop appends batches, and a second goroutine applies whatever the log
// delivers, answering the dispatchers whose actions it meets.
type follower struct {
	log    Follower
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	waiting map[string]*request // by action ID
	// err is why dispatches are refused now: following stopped (and is
	// retried; see followRetry), or the store closed (final).
	err     error
	closed  bool
	attempt int  // the Follow call under way, counted from 1
	running bool // whether that call has not returned yet

	copies []actions.Action // owned by the apply loop
	acts   []*actions.Action
}

// startFollowing starts applying the log's records after the store's seq,
// and follows again whenever following stops (see followRetry).
func (s *Store[S]) startFollowing(log Follower) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{log: log, cancel: cancel, done: make(chan struct{}), waiting: map[string]*request{}}
	s.follow = f
	go func() {
		defer close(f.done)
		s.followRetry(ctx)
		f.fail(ErrClosed)
	}()
}

// commitShared appends a batch to the shared log. The dispatchers wait
// until their actions come back through Follow, in the log's order.
func (s *Store[S]) commitShared(batch []*request) {
	f := s.follow
	f.mu.Lock()
	if f.err != nil {
		f.mu.Unlock()
		for _, r := range batch {
			r.result <- f.err
		}
		return
	}
	// The log appends copies and sets their seqs: once a request is
	// registered, its action may come back through Follow before Append
	// returns, and its dispatcher take the answer and reuse the request.
	// Only the copies are ours after that.
	f.copies = f.copies[:0]
	for _, r := range batch {
		if r.action.ID == "" {
			r.action.ID = uuid.NewString()
		}
		f.copies = append(f.copies, *r.action)
	}
	for _, r := range batch {
		f.waiting[r.action.ID] = r
	}
	f.mu.Unlock()
	f.acts = f.acts[:0]
	for i := range f.copies {
		f.acts = append(f.acts, &f.copies[i])
	}
	began := time.Now()
	if cause := f.log.Append(context.Background(), f.acts); cause != nil {
		if time.Since(began) >= refuseQueuedAfter {
			defer s.refuseQueued(cause)
		}
		s.opts.Logger.Warn().Err(cause).Int("actions", len(batch)).Msg("the shared log did not confirm a batch; its actions may still be applied")
		err := fmt.Errorf("%w: %w", ErrUnconfirmed, cause)
		f.mu.Lock()
		for i, r := range batch {
			// An action whose append failed may still arrive through Follow
			// (a publish that timed out can land later); it is applied then,
			// and its dispatcher answered then if it was still waiting. A
			// request answered already may be another dispatch's by now:
			// look it up by the ID of its copy, never through r.action.
			if id := f.copies[i].ID; f.waiting[id] == r {
				delete(f.waiting, id)
				r.result <- err
			}
		}
		f.mu.Unlock()
	}
}

// applyFollowed applies one record of the shared log, whoever appended it.
func (s *Store[S]) applyFollowed(a *actions.Action) error {
	if a.Seq <= s.Seq() {
		return nil
	}
	if a.Seq != s.Seq()+1 {
		return fmt.Errorf("store: the shared log jumps from seq %d to %d", s.Seq(), a.Seq)
	}
	own := *a
	err := s.step(&own)
	f := s.follow
	f.mu.Lock()
	r := f.waiting[a.ID]
	delete(f.waiting, a.ID)
	f.mu.Unlock()
	if r != nil {
		r.action.Seq, r.action.Outcome = a.Seq, own.Outcome
		r.result <- err
	}
	s.maybeSnapshot()
	return nil
}

// fail answers every waiting dispatcher with err, which later
// dispatches get at once: the store closed.
func (f *follower) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.closed, f.running = err, true, false
	for id, r := range f.waiting {
		delete(f.waiting, id)
		r.result <- f.err
	}
}

// drain waits, for at most wait, until every appended action came back,
// then stops following.
func (f *follower) drain(wait time.Duration) {
	deadline := time.Now().Add(wait)
	for f.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	f.cancel()
	<-f.done
}

// pending reports how many dispatchers wait for their actions to come back.
func (f *follower) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiting)
}
