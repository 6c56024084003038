package logtest

import (
	"context"
	"testing"

	"github.com/statecast/statecast/store"
)

// RunReopen checks that a log keeps everything across Close and open. open
// must return a new, empty log and a function that closes the log last
// returned (by open or by it) and opens the same log again; RunReopen
// closes the last one.
func RunReopen(t *testing.T, open func(t *testing.T) (store.Log, func() store.Log)) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, l store.Log, reopen func() store.Log)
	}{
		{"EmptyStaysEmpty", testReopenEmpty},
		{"EverythingIsThere", testReopenKeeps},
		{"AppendsContinue", testReopenContinues},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, reopen := open(t)
			last := &l
			t.Cleanup(func() { (*last).Close() })
			c.test(t, l, func() store.Log { *last = reopen(); return *last })
		})
	}
}

func testReopenEmpty(t *testing.T, l store.Log, reopen func() store.Log) {
	l = reopen()
	testEmpty(t, l)
	appendN(t, l, 0, 1, 1)
	check(t, l, 1, 1)
}

func testReopenKeeps(t *testing.T, l store.Log, reopen func() store.Log) {
	n := appendN(t, l, 0, 100, 9)
	l = reopen()
	if l.FirstSeq() != 1 {
		t.Fatalf("FirstSeq after reopen = %d, want 1", l.FirstSeq())
	}
	check(t, l, 1, n)
	l = reopen() // reopening without appending changes nothing
	check(t, l, 1, n)
}

func testReopenContinues(t *testing.T, l store.Log, reopen func() store.Log) {
	n := 0
	for round := range 4 {
		n = appendN(t, l, n, 10+round, 4)
		l = reopen()
		batch := samples(n, 2)
		if err := l.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if want := uint64(n + 1); batch[0].Seq != want || batch[1].Seq != want+1 {
			t.Fatalf("round %d: appends after reopen got seqs %d, %d, want %d, %d", round, batch[0].Seq, batch[1].Seq, want, want+1)
		}
		n += 2
	}
	check(t, l, 1, n)
}
