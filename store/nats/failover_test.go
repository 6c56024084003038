package nats_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

// TestFailover appends without pause to an R3 stream while the server that
// leads the stream stops, and checks that every Append that returned nil
// is in the stream exactly once, in order, with the seqs Append gave; that
// no action is in the stream twice; that appends go on after the failover;
// and that a follower saw the same records.
func TestFailover(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	c := natstest.StartCluster(t, 3)
	stream := newStream()
	l := open(t, c, nats.Options{Stream: stream, Replicas: 3, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The follower connects to a server that keeps running; it is found
	// once the leader is known.
	leader := c.StreamLeader(stream)
	if leader < 0 {
		t.Fatal("the stream has no leader")
	}
	other := (leader + 1) % c.N()
	watcher := open(t, c, nats.Options{URLs: c.URL(other), Stream: stream})
	f := follow(ctx, t, watcher, 0)

	const size = 8
	var (
		mu        sync.Mutex
		appended  []*actions.Action // every action of a batch Append accepted, in order
		failures  int
		afterStop int // batches accepted after the leader stopped
		stopped   bool
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := 0; ; b++ {
			mu.Lock()
			enough := afterStop >= 30
			mu.Unlock()
			if enough || ctx.Err() != nil {
				return
			}
			batch := batch("x", b*size, size)
			err := l.Append(ctx, batch)
			mu.Lock()
			if err != nil {
				failures++
				t.Logf("batch %d: %v", b, err)
			} else {
				appended = append(appended, batch...)
				if stopped {
					afterStop++
				}
			}
			mu.Unlock()
		}
	}()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("appends before the failover", func() bool { mu.Lock(); defer mu.Unlock(); return len(appended) >= 40*size })
	c.Shutdown(leader)
	mu.Lock()
	stopped = true
	mu.Unlock()
	t.Logf("stopped %s, the stream leader", c.Name(leader))
	<-done
	newLeader := c.StreamLeader(stream)
	t.Logf("new leader %d, %d actions appended, %d failed batches", newLeader, len(appended), failures)
	if newLeader < 0 || newLeader == leader {
		t.Fatalf("stream leader after the failover: %d", newLeader)
	}
	if failures > 0 {
		t.Errorf("%d Appends failed during the failover; the retries should have covered it", failures)
	}

	// Every accepted action is in the stream exactly once, in order, at the
	// seq Append gave it; no other action is there twice.
	var stored []actions.Action
	if err := l.Read(ctx, 0, func(a *actions.Action) error { stored = append(stored, *a); return nil }); err != nil {
		t.Fatal(err)
	}
	check := func(name string, stored []actions.Action) {
		t.Helper()
		at := map[string]uint64{}
		for k, a := range stored {
			if _, dup := at[a.ID]; dup {
				t.Fatalf("%s: %s stored twice", name, a.ID)
			}
			if k > 0 && a.Seq <= stored[k-1].Seq {
				t.Fatalf("%s: seq %d after %d", name, a.Seq, stored[k-1].Seq)
			}
			at[a.ID] = a.Seq
		}
		var prev uint64
		for _, a := range appended {
			seq, ok := at[a.ID]
			if !ok {
				t.Fatalf("%s: %s was appended (seq %d) but is not stored", name, a.ID, a.Seq)
			}
			if seq != a.Seq {
				t.Fatalf("%s: %s stored at seq %d, Append said %d", name, a.ID, seq, a.Seq)
			}
			if seq <= prev {
				t.Fatalf("%s: %s at seq %d, after an action at %d appended before it", name, a.ID, seq, prev)
			}
			prev = seq
		}
	}
	check("Read", stored)
	got := f.wait(t, len(stored))
	check("Follow", got[:len(stored)])

	// The stopped server comes back and catches up; the log reads the same
	// through it.
	c.Restart(leader)
	back := open(t, c, nats.Options{URLs: c.URL(leader), Stream: stream})
	if err := back.Append(ctx, batch("y", 0, 3)); err != nil {
		t.Fatal(err)
	}
	var all []actions.Action
	if err := back.Read(ctx, 0, func(a *actions.Action) error { all = append(all, *a); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(stored)+3 {
		t.Fatalf("after the restart the log has %d records, want %d", len(all), len(stored)+3)
	}
	check("Read after restart", all[:len(stored)])
	cancel()
	f.end(t)
}

// TestNoLeaderFailsInTime stops two of three servers, so that the stream
// has no quorum: Append must give up after RetryTimeout with an error,
// and the Log must work again once a server is back.
func TestNoLeaderFailsInTime(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for timeouts")
	}
	c := natstest.StartCluster(t, 3)
	stream := newStream()
	l := open(t, c, nats.Options{Stream: stream, Replicas: 3, RetryTimeout: 2 * time.Second, AckTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	if err := l.Append(ctx, batch("a", 0, 2)); err != nil {
		t.Fatal(err)
	}
	leader := c.StreamLeader(stream)
	down := []int{leader, (leader + 1) % 3}
	for _, i := range down {
		c.Shutdown(i)
	}
	start := time.Now()
	b := batch("a", 2, 2)
	err := l.Append(ctx, b)
	d := time.Since(start)
	if err == nil {
		t.Fatal("Append without a quorum succeeded")
	}
	if d > 6*time.Second {
		t.Fatalf("Append took %v to fail with RetryTimeout 2s", d)
	}
	if b[0].Seq != 0 || b[1].Seq != 0 {
		t.Fatalf("a failed Append set seqs %d %d", b[0].Seq, b[1].Seq)
	}
	t.Logf("Append failed after %v: %v", d.Round(time.Millisecond), err)
	c.Restart(down[0])
	// The same batch again: whatever of it landed is not stored twice.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err = l.Append(ctx, b); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("Append after a server came back: %v", err)
	}
	// Each action once, at the seq the successful Append gave. (Their order
	// may differ from the batch's if one publish of the failed Append got
	// through at the very moment a leader was elected: see the package
	// documentation.)
	var got []string
	if err := l.Read(ctx, 0, func(a *actions.Action) error { got = append(got, fmt.Sprint(a.ID, "@", a.Seq)); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"a-0@1", "a-1@2", fmt.Sprint("a-2@", b[0].Seq), fmt.Sprint("a-3@", b[1].Seq)}
	slices.Sort(got[2:])
	slices.Sort(want[2:])
	if !slices.Equal(got, want) || b[0].Seq < 3 || b[1].Seq < 3 {
		t.Fatalf("stream holds %v; Append gave seqs %d and %d", got, b[0].Seq, b[1].Seq)
	}
}
