package logtest

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Run checks that the logs open returns keep the store.Log contract. open
// must return a new, empty log each time; Run closes it.
func Run(t *testing.T, open func(t *testing.T) store.Log) {
	fresh := func(t *testing.T) store.Log {
		t.Helper()
		l := open(t)
		t.Cleanup(func() { l.Close() })
		return l
	}
	for _, c := range []struct {
		name string
		test func(t *testing.T, l store.Log)
	}{
		{"EmptyLog", testEmpty},
		{"SeqsStartAtOneAndAreConsecutive", testSeqs},
		{"EmptyBatchIsNoOp", testEmptyBatch},
		{"AppendChangesOnlySeq", testAppendChangesOnlySeq},
		{"ReadFrom", testReadFrom},
		{"RecordsRoundTrip", testRoundTrip},
		{"ReadStopsOnError", testReadStops},
		{"ReadDuringAppend", testReadDuringAppend},
		{"FailedBatchLeavesNoTrace", testFailedBatch},
		{"CloseTwice", testCloseTwice},
		{"PipelinedWrites", testPipelinedWrites},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, fresh(t))
		})
	}
}

// testPipelinedWrites: on a store.Pipeliner, batches written one after
// another and made durable in order get consecutive seqs, and every one of
// them is read back once its durable returned.
func testPipelinedWrites(t *testing.T, l store.Log) {
	p, ok := l.(store.Pipeliner)
	if !ok {
		t.Skip("not a store.Pipeliner")
	}
	var durables []func() error
	i := 0
	for _, n := range []int{2, 1, 5} {
		batch := samples(i, n)
		durable, err := p.Write(context.Background(), batch)
		if err != nil {
			t.Fatalf("Write of %d actions: %v", n, err)
		}
		for k, a := range batch {
			if a.Seq != uint64(i+k+1) {
				t.Fatalf("action %d of a written batch got seq %d, want %d", k, a.Seq, i+k+1)
			}
		}
		durables = append(durables, durable)
		i += n
	}
	for _, durable := range durables {
		if durable == nil {
			continue // durable already
		}
		if err := durable(); err != nil {
			t.Fatalf("durable: %v", err)
		}
	}
	check(t, l, 1, i)
}

func testEmpty(t *testing.T, l store.Log) {
	if l.LastSeq() != 0 || l.FirstSeq() != 0 {
		t.Fatalf("empty log: LastSeq %d FirstSeq %d, want 0 0", l.LastSeq(), l.FirstSeq())
	}
	for _, from := range []uint64{0, 1, 2, math.MaxUint64} {
		if got := readAll(t, l, from); len(got) != 0 {
			t.Fatalf("Read(%d) on an empty log gave %d records", from, len(got))
		}
	}
}

func testSeqs(t *testing.T, l store.Log) {
	var seq uint64
	i := 0
	for _, n := range []int{1, 3, 1, 17, 2} {
		batch := samples(i, n)
		if err := l.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		for _, a := range batch {
			if seq++; a.Seq != seq {
				t.Fatalf("Append set Seq %d, want %d", a.Seq, seq)
			}
		}
		if l.LastSeq() != seq || l.FirstSeq() != 1 {
			t.Fatalf("after %d records: LastSeq %d FirstSeq %d, want %d 1", seq, l.LastSeq(), l.FirstSeq(), seq)
		}
		i += n
	}
	check(t, l, 1, i)
}

func testEmptyBatch(t *testing.T, l store.Log) {
	ctx := context.Background()
	for _, batch := range [][]*actions.Action{nil, {}} {
		if err := l.Append(ctx, batch); err != nil {
			t.Fatalf("Append(empty) on an empty log: %v", err)
		}
	}
	if l.LastSeq() != 0 || l.FirstSeq() != 0 {
		t.Fatalf("after empty batches: LastSeq %d FirstSeq %d, want 0 0", l.LastSeq(), l.FirstSeq())
	}
	appendN(t, l, 0, 2, 2)
	if err := l.Append(ctx, nil); err != nil {
		t.Fatalf("Append(empty): %v", err)
	}
	appendN(t, l, 2, 1, 1)
	check(t, l, 1, 3)
}

func testAppendChangesOnlySeq(t *testing.T, l store.Log) {
	batch := samples(0, 6)
	if err := l.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, a := range batch {
		w := *sample(i)
		w.Seq = uint64(i + 1)
		if *a != w { // not even At's location may change
			t.Fatalf("Append changed action %d: %+v, want %+v", i, *a, w)
		}
	}
}

func testReadFrom(t *testing.T, l store.Log) {
	const n = 50
	appendN(t, l, 0, n, 7)
	for _, c := range []struct {
		name      string
		from      uint64
		wantFirst uint64 // 0: no records
	}{
		{"Zero", 0, 1},
		{"One", 1, 1},
		{"Two", 2, 2},
		{"Middle", n / 2, n / 2},
		{"LastSeq", n, n},
		{"LastSeqPlusOne", n + 1, 0},
		{"FarBeyond", 1 << 40, 0},
		{"MaxUint64", math.MaxUint64, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := readAll(t, l, c.from)
			if c.wantFirst == 0 {
				if len(got) != 0 {
					t.Fatalf("Read(%d) gave %d records, want none", c.from, len(got))
				}
				return
			}
			if wantN := int(n - c.wantFirst + 1); len(got) != wantN {
				t.Fatalf("Read(%d) gave %d records, want %d", c.from, len(got), wantN)
			}
			for k, a := range got {
				seq := c.wantFirst + uint64(k)
				if d := same(a, want(int(seq-1), seq)); d != "" {
					t.Fatalf("Read(%d), record %d: %s", c.from, k, d)
				}
			}
		})
	}
}

func testRoundTrip(t *testing.T, l store.Log) {
	appendN(t, l, 0, 60, 13) // every sample kind, ten times
	check(t, l, 1, 60)
}

func testReadStops(t *testing.T, l store.Log) {
	appendN(t, l, 0, 10, 10)
	stop := errors.New("stop here")
	var seen []uint64
	err := l.Read(context.Background(), 2, func(a *actions.Action) error {
		seen = append(seen, a.Seq)
		if a.Seq == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Read returned %v, want fn's error", err)
	}
	if len(seen) != 3 || seen[0] != 2 || seen[2] != 4 {
		t.Fatalf("fn saw seqs %v, want [2 3 4]", seen)
	}
}

func testFailedBatch(t *testing.T, l store.Log) {
	appendN(t, l, 0, 3, 3)
	type unregistered struct{ X int }
	batch := samples(3, 3)
	batch[1].Payload = unregistered{1}
	if err := l.Append(context.Background(), batch); err == nil {
		t.Skip("the backend stores any payload; nothing to check")
	}
	for i, a := range batch {
		if a.Seq != 0 {
			t.Fatalf("failed Append left Seq %d on action %d, want 0", a.Seq, i)
		}
	}
	if l.LastSeq() != 3 {
		t.Fatalf("LastSeq after a failed Append = %d, want 3", l.LastSeq())
	}
	appendN(t, l, 3, 2, 2)
	check(t, l, 1, 5)
}

func testCloseTwice(t *testing.T, l store.Log) {
	appendN(t, l, 0, 3, 3)
	for i := range 2 {
		if err := l.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if err := l.Append(context.Background(), samples(3, 1)); err == nil {
		t.Fatal("Append after Close succeeded")
	}
	if err := l.Read(context.Background(), 0, func(*actions.Action) error { return nil }); err == nil {
		t.Fatal("Read after Close succeeded")
	}
}
