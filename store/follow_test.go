package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// sharedLog is an in-memory stream that several memFollowers append to.
type sharedLog struct {
	mu      sync.Mutex
	records []actions.Action
	grew    chan struct{} // closed and replaced on every append
	failing bool
	// lateFail, when set, makes Append fail after its records landed (an
	// acknowledgement lost on the way), once lateFail is closed.
	lateFail chan struct{}
}

func newSharedLog() *sharedLog { return &sharedLog{grew: make(chan struct{})} }

// memFollower is one node's connection to a sharedLog.
type memFollower struct{ shared *sharedLog }

func (m memFollower) Append(_ context.Context, batch []*actions.Action) error {
	l := m.shared
	l.mu.Lock()
	if l.failing {
		l.mu.Unlock()
		return errors.New("stream unavailable")
	}
	for _, a := range batch {
		a.Seq = uint64(len(l.records)) + 1
		l.records = append(l.records, *a)
	}
	close(l.grew)
	l.grew = make(chan struct{})
	late := l.lateFail
	l.mu.Unlock()
	if late != nil {
		<-late
		for _, a := range batch {
			a.Seq = 0
		}
		return errors.New("acknowledgement lost")
	}
	return nil
}

func (m memFollower) LastSeq() uint64 {
	m.shared.mu.Lock()
	defer m.shared.mu.Unlock()
	return uint64(len(m.shared.records))
}

func (m memFollower) FirstSeq() uint64 {
	if m.LastSeq() == 0 {
		return 0
	}
	return 1
}

func (m memFollower) Read(ctx context.Context, from uint64, fn func(*actions.Action) error) error {
	last := m.LastSeq()
	for seq := max(from, 1); seq <= last; seq++ {
		if err := m.deliver(seq, fn); err != nil {
			return err
		}
	}
	return nil
}

func (m memFollower) Follow(ctx context.Context, from uint64, fn func(*actions.Action) error) error {
	for seq := max(from, 1); ; {
		m.shared.mu.Lock()
		held, grew := uint64(len(m.shared.records)), m.shared.grew
		m.shared.mu.Unlock()
		for ; seq <= held; seq++ {
			if err := m.deliver(seq, fn); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-grew:
		}
	}
}

func (m memFollower) deliver(seq uint64, fn func(*actions.Action) error) error {
	m.shared.mu.Lock()
	a := m.shared.records[seq-1]
	m.shared.mu.Unlock()
	return fn(&a)
}

func (m memFollower) Close() error { return nil }

func openFollowing(t *testing.T, l *sharedLog) *store.Store[counter] {
	t.Helper()
	s, err := store.Open(context.Background(), counter{}, count, store.Options[counter]{Log: memFollower{l}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNodesOnASharedLogFoldTheSameState(t *testing.T) {
	t.Parallel()
	shared := newSharedLog()
	nodes := []*store.Store[counter]{openFollowing(t, shared), openFollowing(t, shared), openFollowing(t, shared)}
	const each = 200
	var wg sync.WaitGroup
	for n, s := range nodes {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					a := &actions.Action{ID: fmt.Sprintf("n%dw%di%d", n, w, i), Type: string(rune('a' + n))}
					if err := s.Dispatch(context.Background(), a); err != nil {
						t.Error(err)
						return
					}
					// Once Dispatch returns, the node's own state holds the action.
					if a.Seq == 0 || s.Seq() < a.Seq {
						t.Errorf("dispatch returned with seq %d while the node is at %d", a.Seq, s.Seq())
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	total := len(nodes) * 4 * each
	for i, s := range nodes {
		waitFor(t, func() bool { return s.Seq() == uint64(total) })
		if got, want := s.GetState(), nodes[0].GetState(); got != want {
			t.Fatalf("node %d folded %d actions into %q, node 0 %d into %q", i, got.n, got.types[:20], want.n, want.types[:20])
		}
	}
}

func TestNodeJoiningLaterCatchesUp(t *testing.T) {
	t.Parallel()
	shared := newSharedLog()
	first := openFollowing(t, shared)
	for i := 0; i < 10; i++ {
		if err := first.Dispatch(context.Background(), &actions.Action{Type: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	late := openFollowing(t, shared)
	if late.Seq() != 10 || late.GetState() != first.GetState() {
		t.Fatalf("late node at seq %d with %+v, want 10 and %+v", late.Seq(), late.GetState(), first.GetState())
	}
	if err := late.Dispatch(context.Background(), &actions.Action{Type: "y"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return first.Seq() == 11 })
	if first.GetState().types != "xxxxxxxxxxy" {
		t.Fatalf("first node holds %q", first.GetState().types)
	}
}

func TestSharedAppendFailureReachesTheDispatcher(t *testing.T) {
	t.Parallel()
	shared := newSharedLog()
	s := openFollowing(t, shared)
	shared.mu.Lock()
	shared.failing = true
	shared.mu.Unlock()
	err := s.Dispatch(context.Background(), &actions.Action{Type: "x"})
	if !errors.Is(err, store.ErrUnconfirmed) || s.Seq() != 0 {
		t.Fatalf("Dispatch = %v at seq %d, want ErrUnconfirmed and nothing applied", err, s.Seq())
	}
	shared.mu.Lock()
	shared.failing = false
	shared.mu.Unlock()
	if err := s.Dispatch(context.Background(), &actions.Action{Type: "x"}); err != nil {
		t.Fatalf("after the log recovered: %v", err)
	}
}

// An append that fails after its action landed: the action comes back
// through Follow and its dispatcher gets its answer then, and may reuse
// what it dispatched with; the failure reported later must not touch that.
func TestSharedAppendFailingAfterItsActionCameBack(t *testing.T) {
	t.Parallel()
	shared := newSharedLog()
	release := make(chan struct{})
	shared.lateFail = release
	s := openFollowing(t, shared)
	if err := s.Dispatch(context.Background(), &actions.Action{Type: "x"}); err != nil {
		t.Fatalf("Dispatch of an action that came back = %v, want nil", err)
	}
	shared.mu.Lock()
	shared.lateFail = nil
	shared.mu.Unlock()
	close(release) // the first Append returns its error now
	if err := s.Dispatch(context.Background(), &actions.Action{Type: "y"}); err != nil {
		t.Fatalf("the next Dispatch = %v", err)
	}
	if got := s.GetState().types; got != "xy" || s.Seq() != 2 {
		t.Fatalf("state %q at seq %d, want \"xy\" at 2", got, s.Seq())
	}
}

func TestClosedNodeAnswersErrClosed(t *testing.T) {
	t.Parallel()
	s := openFollowing(t, newSharedLog())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Dispatch(context.Background(), &actions.Action{Type: "x"}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Dispatch after Close = %v, want ErrClosed", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
