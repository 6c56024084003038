package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

// gatedLog is a Pipeliner whose syncs wait for the test: each durable
// blocks until the test sends its result on release. It records, in
// order, every write, sync and apply the store makes.
type gatedLog struct {
	mu      sync.Mutex
	next    uint64
	durable uint64 // last seq a durable returned nil for
	events  []string
	release chan error
	syncing chan struct{} // a durable began
}

func newGatedLog() *gatedLog {
	return &gatedLog{next: 1, release: make(chan error), syncing: make(chan struct{}, 16)}
}

func (l *gatedLog) note(format string, args ...any) {
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *gatedLog) Write(_ context.Context, batch []*actions.Action) (func() error, error) {
	l.mu.Lock()
	for _, a := range batch {
		a.Seq = l.next
		l.next++
	}
	first, last := batch[0].Seq, batch[len(batch)-1].Seq
	l.events = append(l.events, fmt.Sprintf("write %d-%d", first, last))
	l.mu.Unlock()
	return func() error {
		l.syncing <- struct{}{}
		err := <-l.release
		l.mu.Lock()
		defer l.mu.Unlock()
		if err != nil {
			l.events = append(l.events, fmt.Sprintf("lost %d-%d", first, last))
			l.next = first // the log cut them off
			return err
		}
		l.durable = last
		l.events = append(l.events, fmt.Sprintf("durable %d-%d", first, last))
		return nil
	}, nil
}

func (l *gatedLog) Append(ctx context.Context, batch []*actions.Action) error {
	return errors.New("the store must use Write")
}
func (l *gatedLog) LastSeq() uint64  { return 0 }
func (l *gatedLog) FirstSeq() uint64 { return 0 }
func (l *gatedLog) Read(context.Context, uint64, func(*actions.Action) error) error {
	return nil
}
func (l *gatedLog) Close() error { return nil }

func (l *gatedLog) log() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// TestPipelinedCommit: while a batch syncs, the actions that arrive wait
// and are written as one batch as soon as the sync ends, before the synced
// batch is applied; no subscriber sees an action before its batch is
// durable; a lost batch is refused to its senders with its seqs cleared,
// and the ones after it go on.
func TestPipelinedCommit(t *testing.T) {
	t.Parallel()
	l := newGatedLog()
	s, err := Open(context.Background(), 0, func(n int, _ *actions.Action) int { return n + 1 }, Options[int]{Log: l})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var entered sync.WaitGroup // dispatches that reached the end of the chain
	s.Use(func(next Dispatch) Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			entered.Done()
			return next(ctx, a)
		}
	})
	s.Subscribe(func(c Change[int]) {
		l.mu.Lock()
		durable := l.durable
		l.mu.Unlock()
		if c.Seq > durable {
			t.Errorf("seq %d applied before it was durable (durable up to %d)", c.Seq, durable)
		}
		l.note("apply %d", c.Seq)
	})
	dispatch := func(n int) <-chan error {
		errs := make(chan error, n)
		entered.Add(n)
		for i := range n {
			go func() {
				a := &actions.Action{ID: fmt.Sprint(i), Type: "x"}
				err := s.Dispatch(context.Background(), a)
				if err != nil && a.Seq != 0 {
					t.Errorf("a refused action kept seq %d", a.Seq)
				}
				errs <- err
			}()
		}
		return errs
	}
	first := dispatch(1)
	<-l.syncing // 1 syncs
	rest := dispatch(3)
	entered.Wait()
	waitFor(t, func() bool { return s.intake.head.Load() == nil }, "the three dispatches to be taken")
	time.Sleep(20 * time.Millisecond) // taken, they must wait, not be written
	if got := l.log(); !slices.Equal(got, []string{"write 1-1"}) {
		t.Fatalf("while 1 synced: %v, want only its write", got)
	}
	l.release <- nil
	<-l.syncing // 2-4 sync
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	want := []string{"write 1-1", "durable 1-1", "write 2-4", "apply 1"}
	if got := l.log(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v: the next batch is written before the synced one is applied", got, want)
	}
	diskFull := errors.New("disk full")
	l.release <- diskFull
	for range 3 {
		if err := <-rest; !errors.Is(err, diskFull) {
			t.Fatalf("an action of the lost batch got %v, want the log's error", err)
		}
	}
	if got := s.Seq(); got != 1 {
		t.Fatalf("Seq %d after the lost batch, want 1", got)
	}
	after := dispatch(1)
	<-l.syncing
	l.release <- nil
	if err := <-after; err != nil {
		t.Fatal(err)
	}
	if got := s.Seq(); got != 2 || s.GetState() != 2 {
		t.Fatalf("Seq %d, state %d after one more action, want 2 and 2", got, s.GetState())
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
