package store

import (
	"context"
	"fmt"
	"time"
)

// How a store on a shared log follows it again after following stopped
// (a gap in the seqs, a lost consumer, an error of the log): it waits
// followRetryMin, doubling up to followRetryMax, between attempts; an
// attempt that has run for followHealthyAfter counts as healthy again.
var (
	followRetryMin     = 100 * time.Millisecond
	followRetryMax     = 5 * time.Second
	followHealthyAfter = time.Second
)

// followRetry follows the log from the store's seq until ctx ends. While
// following has stopped, the store refuses dispatches with ErrUnavailable
// and Health reports why.
func (s *Store[S]) followRetry(ctx context.Context) {
	f := s.follow
	wait := followRetryMin
	for {
		n := f.begin()
		healthy := time.AfterFunc(followHealthyAfter, func() {
			if f.heal(n) {
				s.opts.Logger.Info().Uint64("seq", s.Seq()).Msg("following the shared log again")
			}
		})
		began := time.Now()
		err := f.log.Follow(ctx, s.Seq()+1, s.applyFollowed)
		healthy.Stop()
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) >= followHealthyAfter {
			wait = followRetryMin
		}
		s.opts.Logger.Error().Err(err).Uint64("seq", s.Seq()).Dur("retry_in", wait).
			Msg("following the shared log stopped; this node refuses writes until it follows again")
		f.stop(err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, followRetryMax)
	}
}

// begin marks a new Follow call under way and returns its number.
func (f *follower) begin() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempt++
	f.running = true
	return f.attempt
}

// stop records that following stopped with cause: new dispatches are
// refused with ErrUnavailable until heal, and the dispatchers that wait
// for their appended actions get ErrUnconfirmed (the actions may still be
// applied once the store follows again).
func (f *follower) stop(cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = false
	if f.closed {
		return
	}
	f.err = fmt.Errorf("%w: this node stopped following the shared log: %w", ErrUnavailable, cause)
	for id, r := range f.waiting {
		delete(f.waiting, id)
		r.result <- fmt.Errorf("%w: %w", ErrUnconfirmed, cause)
	}
}

// heal clears the refusal once Follow call n has run for
// followHealthyAfter without stopping; it reports whether there was one.
func (f *follower) heal(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || !f.running || f.attempt != n || f.err == nil {
		return false
	}
	f.err = nil
	return true
}

// refuseQueuedAfter is how long an append the log did not confirm must
// have waited for the dispatches queued behind it to be refused.
var refuseQueuedAfter = time.Second

// refuseQueued answers the dispatches that queued behind a long append the
// log did not confirm with ErrUnavailable at once, instead of making each
// batch wait for the log in turn: while the log cannot confirm (a lost
// quorum), no dispatch waits longer than about two appends' timeout. It
// runs in the apply loop.
func (s *Store[S]) refuseQueued(cause error) {
	err := fmt.Errorf("%w: the shared log did not confirm the append queued before this one: %w", ErrUnavailable, cause)
	queued, _ := s.intake.take(nil)
	for _, r := range queued {
		r.result <- err
	}
}

// Health reports why the store cannot take writes now, or nil when it
// can: a store on a shared log cannot while it does not follow the log
// (it follows again by itself), nor once closed. A server's readiness
// check uses it.
func (s *Store[S]) Health() error {
	f := s.follow
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
