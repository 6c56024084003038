package file

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// write writes messages first…last with Write and returns their durable.
func write(t *testing.T, l *Log, first, last int) func() error {
	t.Helper()
	var batch []*actions.Action
	for i := first; i <= last; i++ {
		batch = append(batch, message(i))
	}
	durable, err := l.Write(context.Background(), batch)
	if err != nil {
		t.Fatalf("Write %d…%d: %v", first, last, err)
	}
	if got := batch[len(batch)-1].Seq; got != uint64(last) {
		t.Fatalf("Write %d…%d: the last seq is %d", first, last, got)
	}
	return durable
}

// TestWriteIsAcknowledgedByItsSync: under Always, a written batch is not
// visible until its durable returns; one fsync covers every batch written
// before it began, and the durable of a batch it covered does not fsync.
func TestWriteIsAcknowledgedByItsSync(t *testing.T) {
	t.Parallel()
	var syncs atomic.Int64
	l := mustOpen(t, t.TempDir(), Options{Fsync: Always, OnSync: func(time.Duration) { syncs.Add(1) }})
	first := write(t, l, 1, 2)
	second := write(t, l, 3, 5)
	if first == nil || second == nil {
		t.Fatal("Write under Always returned no durable")
	}
	if got := l.LastSeq(); got != 0 {
		t.Fatalf("LastSeq %d before any sync, want 0", got)
	}
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if got := l.LastSeq(); got != 5 {
		t.Fatalf("LastSeq %d after the first sync, want 5: it covered both batches", got)
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}
	if got := syncs.Load(); got != 1 {
		t.Fatalf("%d fsyncs for two batches written before the first sync, want 1", got)
	}
	if got := readSeqs(t, l); len(got) != 5 {
		t.Fatalf("read %v, want seqs 1…5", got)
	}
}

// TestWriteWithoutWaiting: under Interval and Off, Write acknowledges the
// batch at once and returns no durable.
func TestWriteWithoutWaiting(t *testing.T) {
	t.Parallel()
	for _, policy := range []Fsync{Interval, Off} {
		l := mustOpen(t, t.TempDir(), Options{Fsync: policy})
		if durable := write(t, l, 1, 3); durable != nil {
			t.Errorf("%s: Write returned a durable", policy)
		}
		if got := l.LastSeq(); got != 3 {
			t.Errorf("%s: LastSeq %d after Write, want 3", policy, got)
		}
	}
}

// TestRollAcknowledgesWrittenBatches: a batch that needs a new segment
// fsyncs the records written before it into the segment it closes; their
// durable then returns at once.
func TestRollAcknowledgesWrittenBatches(t *testing.T) {
	t.Parallel()
	var syncs atomic.Int64
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Fsync: Always, SegmentSize: 1, OnSync: func(time.Duration) { syncs.Add(1) }})
	if err := write(t, l, 1, 1)(); err != nil {
		t.Fatal(err)
	}
	first := write(t, l, 2, 2) // a segment of its own; waits for its sync
	syncs.Store(0)
	second := write(t, l, 3, 3) // rolls: fsyncs 2's segment first
	if got := syncs.Load(); got != 1 {
		t.Fatalf("the roll made %d fsyncs of the segment it closed, want 1", got)
	}
	if got := l.LastSeq(); got != 2 {
		t.Fatalf("LastSeq %d after the roll, want 2", got)
	}
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if got := syncs.Load(); got != 1 {
		t.Fatalf("a durable the roll covered fsynced again (%d fsyncs)", got)
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentPaths(t, dir)); got != 3 {
		t.Fatalf("%d segments, want 3", got)
	}
}

// TestFailedWriteCutsOffWrittenBatches: when a write fails, the batches
// written before it and not yet synced are lost too: their durable
// returns an error wrapping store.ErrUnavailable, they are cut from the
// file, and none comes back after the log heals and takes their seqs
// again, nor after a restart.
func TestFailedWriteCutsOffWrittenBatches(t *testing.T) {
	t.Parallel()
	fsys := newFaultFS(1)
	dir := t.TempDir()
	l, err := Open(dir, Options{Fsync: Always, fs: fsys, healEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := write(t, l, 1, 2)(); err != nil {
		t.Fatal(err)
	}
	pending := write(t, l, 3, 4)
	var failNext atomic.Bool
	failNext.Store(true)
	fsys.mu.Lock()
	fsys.inject = func(op, _ string) (error, bool) {
		if op == "write" && failNext.CompareAndSwap(true, false) {
			return errNoSpace, true
		}
		return nil, false
	}
	fsys.mu.Unlock()
	if _, err := l.Write(context.Background(), []*actions.Action{message(5)}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the failed Write returned %v, want ErrUnavailable", err)
	}
	for deadline := time.Now().Add(5 * time.Second); l.Err() != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not heal: %v", l.Err())
		}
	}
	// Healed: seqs 3 and 4 go to new records; the old batch is still lost.
	if err := write(t, l, 3, 4)(); err != nil {
		t.Fatal(err)
	}
	if err := pending(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the cut-off batch's durable returned %v, want ErrUnavailable", err)
	}
	if got := readSeqs(t, l); len(got) != 4 {
		t.Fatalf("read %v, want seqs 1…4", got)
	}
	l.Close()
	fsys.restart(true, false)
	l, err = Open(dir, Options{Fsync: Always, fs: fsys})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.LastSeq(); got != 4 {
		t.Fatalf("after a power loss LastSeq is %d, want 4", got)
	}
}

func readSeqs(t *testing.T, l *Log) []uint64 {
	t.Helper()
	var seqs []uint64
	if err := l.Read(context.Background(), 0, func(a *actions.Action) error {
		seqs = append(seqs, a.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return seqs
}
