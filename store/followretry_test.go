package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// flakyFollower is a memFollower whose Follow stops with an error on the
// next gaps records it would deliver, and whose next Append, when stall
// is set, waits that long and then fails.
type flakyFollower struct {
	memFollower
	gaps  atomic.Int32
	stall atomic.Int64 // nanoseconds
	began chan struct{}
}

func (f *flakyFollower) Follow(ctx context.Context, from uint64, fn func(*actions.Action) error) error {
	return f.memFollower.Follow(ctx, from, func(a *actions.Action) error {
		if f.gaps.Add(-1) >= 0 {
			return errors.New("a gap in the seqs")
		}
		f.gaps.Store(0)
		return fn(a)
	})
}

func (f *flakyFollower) Append(ctx context.Context, batch []*actions.Action) error {
	if d := time.Duration(f.stall.Swap(0)); d > 0 {
		close(f.began)
		time.Sleep(d)
		return errors.New("no quorum")
	}
	return f.memFollower.Append(ctx, batch)
}

func openFlaky(t *testing.T, l *sharedLog) (*store.Store[counter], *flakyFollower) {
	t.Helper()
	f := &flakyFollower{memFollower: memFollower{l}, began: make(chan struct{})}
	s, err := store.Open(context.Background(), counter{}, count, store.Options[counter]{Log: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, f
}

// TestFollowingStoppedRefusesAndRetries: a node whose Follow stops says so
// in Health, refuses dispatches with ErrUnavailable, follows again by
// itself and then catches up and takes dispatches again.
func TestFollowingStoppedRefusesAndRetries(t *testing.T) {
	t.Parallel()
	shared := newSharedLog()
	node, flaky := openFlaky(t, shared)
	other := openFollowing(t, shared)
	if err := node.Health(); err != nil {
		t.Fatalf("Health of a following node = %v", err)
	}
	flaky.gaps.Store(3)
	if err := other.Dispatch(context.Background(), &actions.Action{Type: "a"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return node.Health() != nil })
	if err := node.Health(); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Health = %v, want ErrUnavailable", err)
	}
	if err := node.Dispatch(context.Background(), &actions.Action{Type: "b"}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Dispatch while not following = %v, want ErrUnavailable", err)
	}
	waitFor(t, func() bool { return node.Health() == nil })
	if node.Seq() != 1 {
		t.Errorf("after following again the node is at seq %d, want 1", node.Seq())
	}
	if err := node.Dispatch(context.Background(), &actions.Action{Type: "c"}); err != nil {
		t.Fatalf("Dispatch after following again = %v", err)
	}
	waitFor(t, func() bool { return other.Seq() == 2 })
	if got := other.GetState().types; got != "ac" {
		t.Errorf("state %q, want \"ac\"", got)
	}
}

// TestQueuedBehindAStalledAppendAreRefused: the dispatches that queued
// while a long append went unconfirmed are refused at once with
// ErrUnavailable, not sent to the log one batch after another.
func TestQueuedBehindAStalledAppendAreRefused(t *testing.T) {
	t.Parallel()
	const stall = 1200 * time.Millisecond
	node, flaky := openFlaky(t, newSharedLog())
	flaky.stall.Store(int64(stall))
	start := time.Now()
	first := make(chan error, 1)
	go func() { first <- node.Dispatch(context.Background(), &actions.Action{Type: "a"}) }()
	<-flaky.began
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { errs[i] = node.Dispatch(context.Background(), &actions.Action{Type: "q"}) })
	}
	if err := <-first; !errors.Is(err, store.ErrUnconfirmed) {
		t.Errorf("the stalled append's dispatch = %v, want ErrUnconfirmed", err)
	}
	wg.Wait()
	if took := time.Since(start); took > stall+stall/2 {
		t.Errorf("the queued dispatches were answered after %v, want right after the stalled append (%v)", took, stall)
	}
	for i, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("queued dispatch %d = %v, want ErrUnavailable", i, err)
		}
	}
	if err := node.Dispatch(context.Background(), &actions.Action{Type: "b"}); err != nil {
		t.Errorf("a dispatch after the stall = %v, want it appended", err)
	}
}
