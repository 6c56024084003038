package nats_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

// action returns a small action with the given ID.
func action(id string) *actions.Action {
	return &actions.Action{ID: id, Type: actions.TypeWriteMessage, Room: "r", Session: "s", User: "u",
		At: time.Unix(1700000000, 123).UTC(), Payload: actions.WriteMessage{Message: "hello " + id}}
}

// batch returns n actions with IDs prefix-i, prefix-i+1, …
func batch(prefix string, i, n int) []*actions.Action {
	b := make([]*actions.Action, n)
	for k := range b {
		b[k] = action(fmt.Sprintf("%s-%d", prefix, i+k))
	}
	return b
}

// follower collects what a Follow delivers.
type follower struct {
	mu   sync.Mutex
	got  []actions.Action
	more chan struct{} // signalled after each record
	done chan error    // Follow's result
}

// follow starts l.Follow(ctx, from) in a goroutine, checking that each seq
// delivered is greater than the one before.
func follow(ctx context.Context, t *testing.T, l *nats.Log, from uint64) *follower {
	f := &follower{more: make(chan struct{}, 1), done: make(chan error, 1)}
	go func() {
		var last uint64
		f.done <- l.Follow(ctx, from, func(a *actions.Action) error {
			if a.Seq <= last {
				t.Errorf("Follow delivered seq %d after %d", a.Seq, last)
			}
			last = a.Seq
			f.mu.Lock()
			f.got = append(f.got, *a)
			f.mu.Unlock()
			select {
			case f.more <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	return f
}

// wait waits until f has n records and returns them.
func (f *follower) wait(t *testing.T, n int) []actions.Action {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		f.mu.Lock()
		got := f.got
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-f.more:
		case err := <-f.done:
			t.Fatalf("Follow returned %v after %d records, want %d", err, len(got), n)
		case <-timeout:
			t.Fatalf("Follow delivered %d records in 30s, want %d", len(got), n)
		}
	}
}

// end waits for Follow's result.
func (f *follower) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return within 10s")
		return nil
	}
}

// TestFollowTwoWriters appends from two Logs on two servers of a cluster
// at once and checks that a follower of each sees the same records in the
// same order, each exactly once, with the seqs Append gave them.
func TestFollowTwoWriters(t *testing.T) {
	t.Parallel()
	c := natstest.StartCluster(t, 3)
	stream := newStream()
	l1 := open(t, c, nats.Options{URLs: c.URL(0), Stream: stream, Replicas: 3})
	l2 := open(t, c, nats.Options{URLs: c.URL(1), Stream: stream, Replicas: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f1, f2 := follow(ctx, t, l1, 0), follow(ctx, t, l2, 1)

	const batches, size = 30, 4
	seqOf := sync.Map{} // ID → seq from Append
	var wg sync.WaitGroup
	for w, l := range []*nats.Log{l1, l2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				batch := batch(fmt.Sprintf("w%d", w), b*size, size)
				if err := l.Append(ctx, batch); err != nil {
					t.Error(err)
					return
				}
				for k, a := range batch {
					if k > 0 && a.Seq <= batch[k-1].Seq {
						t.Errorf("writer %d: batch seqs %d, %d out of order", w, batch[k-1].Seq, a.Seq)
					}
					seqOf.Store(a.ID, a.Seq)
				}
			}
		}()
	}
	wg.Wait()
	const n = 2 * batches * size
	got1, got2 := f1.wait(t, n), f2.wait(t, n)
	if len(got1) != n || len(got2) != n {
		t.Fatalf("followers got %d and %d records, want %d", len(got1), len(got2), n)
	}
	seen := map[string]bool{}
	for k := range got1 {
		a, b := got1[k], got2[k]
		if a.Seq != uint64(k+1) || a.ID != b.ID || a.Seq != b.Seq {
			t.Fatalf("record %d: follower 1 has %d %s, follower 2 %d %s", k, a.Seq, a.ID, b.Seq, b.ID)
		}
		if seen[a.ID] {
			t.Fatalf("%s delivered twice", a.ID)
		}
		seen[a.ID] = true
		if s, ok := seqOf.Load(a.ID); !ok || s.(uint64) != a.Seq {
			t.Fatalf("%s: Append gave seq %v, Follow %d", a.ID, s, a.Seq)
		}
		if want := action(a.ID); a.Type != want.Type || a.Payload != want.Payload || !a.At.Equal(want.At) {
			t.Fatalf("record %d differs: %+v, want %+v", k, a, *want)
		}
	}
	if l1.LastSeq() != n || l2.LastSeq() != n {
		t.Fatalf("LastSeq %d and %d, want %d", l1.LastSeq(), l2.LastSeq(), n)
	}
	cancel()
	for _, f := range []*follower{f1, f2} {
		if err := f.end(t); !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow returned %v after cancel, want context.Canceled", err)
		}
	}
}

// TestFollowFromMiddle follows from a seq in the middle: the records from
// it on, then the new ones.
func TestFollowFromMiddle(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	l := open(t, c, nats.Options{Stream: newStream()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := l.Append(ctx, batch("a", 0, 20)); err != nil {
		t.Fatal(err)
	}
	f := follow(ctx, t, l, 11)
	got := f.wait(t, 10)
	if got[0].Seq != 11 || got[0].ID != "a-10" {
		t.Fatalf("first record %d %s, want 11 a-10", got[0].Seq, got[0].ID)
	}
	if err := l.Append(ctx, batch("a", 20, 5)); err != nil {
		t.Fatal(err)
	}
	got = f.wait(t, 15)
	for k, a := range got {
		if want := uint64(11 + k); a.Seq != want || a.ID != fmt.Sprintf("a-%d", want-1) {
			t.Fatalf("record %d: %d %s, want seq %d", k, a.Seq, a.ID, want)
		}
	}
	if len(got) != 15 {
		t.Fatalf("got %d records, want 15", len(got))
	}
	// From beyond the end: only new records.
	f2 := follow(ctx, t, l, 100)
	time.Sleep(100 * time.Millisecond)
	if err := l.Append(ctx, batch("a", 25, 1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	f2.mu.Lock()
	n := len(f2.got)
	f2.mu.Unlock()
	if n != 0 {
		t.Fatalf("Follow(100) delivered %d records of a log of 26", n)
	}
	cancel()
	for _, f := range []*follower{f, f2} {
		if err := f.end(t); !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow returned %v, want context.Canceled", err)
		}
	}
}

// TestFollowEnds checks the ways a Follow ends: ctx (already ended, or
// ending while it waits), fn's error, and Close of the Log.
func TestFollowEnds(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	l := open(t, c, nats.Options{Stream: newStream()})
	if err := l.Append(context.Background(), batch("a", 0, 3)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Follow(ctx, 0, func(*actions.Action) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow with an ended ctx returned %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n := 0
	start := time.Now()
	err := l.Follow(ctx, 0, func(*actions.Action) error { n++; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || n != 3 {
		t.Fatalf("Follow returned %v after %d records, want DeadlineExceeded after 3", err, n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Follow took %v to notice its deadline", d)
	}

	stop := errors.New("stop")
	err = l.Follow(context.Background(), 2, func(a *actions.Action) error {
		if a.Seq == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Follow returned %v, want fn's error", err)
	}

	f := follow(context.Background(), t, l, 0)
	f.wait(t, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.end(t); !errors.Is(err, nats.ErrClosed) {
		t.Fatalf("Follow returned %v after Close, want ErrClosed", err)
	}
	if err := l.Follow(context.Background(), 0, func(*actions.Action) error { return nil }); !errors.Is(err, nats.ErrClosed) {
		t.Fatalf("Follow after Close returned %v, want ErrClosed", err)
	}
}
