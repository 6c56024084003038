package file

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

func TestFsyncNames(t *testing.T) {
	t.Parallel()
	for _, f := range []Fsync{Always, Interval, Off} {
		if got, err := ParseFsync(f.String()); got != f || err != nil {
			t.Errorf("ParseFsync(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFsync("sometimes"); err == nil {
		t.Error("ParseFsync accepted an unknown name")
	}
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"Fsync":         {Fsync: Off + 1},
		"SegmentSize":   {SegmentSize: -1},
		"KeepSnapshots": {KeepSnapshots: -1},
	} {
		if _, err := Open(t.TempDir(), opts); err == nil {
			t.Errorf("Open accepted an invalid %s", name)
		}
	}
}

func TestIntervalSyncsInTheBackground(t *testing.T) {
	t.Parallel()
	l := mustOpen(t, t.TempDir(), Options{Fsync: Interval})
	fill(t, l, 3)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		l.mu.Lock()
		synced := l.synced
		l.mu.Unlock()
		if synced == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("synced up to %d after 5 s, want 3", synced)
		}
	}
}

func TestOversizedActionFailsOnlyItsBatch(t *testing.T) {
	t.Parallel()
	l := mustOpen(t, t.TempDir(), Options{})
	fill(t, l, 2)
	big := message(3)
	big.Payload = actions.WriteMessage{Message: strings.Repeat("x", MaxRecordSize)}
	batch := []*actions.Action{message(3), big}
	if err := l.Append(context.Background(), batch); err == nil || batch[0].Seq != 0 {
		t.Fatalf("Append of an oversized action: %v, seq %d", err, batch[0].Seq)
	}
	appendOne(t, l, 3)
	if got := seqs(t, l); len(got) != 3 {
		t.Fatalf("%d records, want 3", len(got))
	}
}

func TestFailedWriteStopsTheLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	fill(t, l, 4)
	l.f.Close() // the next write fails
	batch := []*actions.Action{message(5)}
	if err := l.Append(context.Background(), batch); err == nil || batch[0].Seq != 0 {
		t.Fatalf("Append on a broken file: %v, seq %d", err, batch[0].Seq)
	}
	if err := l.Append(context.Background(), []*actions.Action{message(5)}); err == nil || !strings.Contains(err.Error(), "reopen") {
		t.Fatalf("the log went on after a failed write: %v", err)
	}
	if got := seqs(t, l); len(got) != 4 || l.LastSeq() != 4 {
		t.Fatalf("%d records, LastSeq %d; want 4", len(got), l.LastSeq())
	}
	l.Close()
	l = mustOpen(t, dir, Options{})
	appendOne(t, l, 5)
	if got := seqs(t, l); len(got) != 5 {
		t.Fatalf("after reopening, %d records, want 5", len(got))
	}
}
