package file

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
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

func TestFailedWriteHealsInTheBackground(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var health []error
	l := mustOpen(t, dir, Options{healEvery: 10 * time.Millisecond, OnHealth: func(err error) { health = append(health, err) }})
	fill(t, l, 4)
	l.mu.Lock()
	l.f.Close() // the next write fails; healing reopens the file
	l.mu.Unlock()
	batch := []*actions.Action{message(5)}
	if err := l.Append(context.Background(), batch); !errors.Is(err, store.ErrUnavailable) || batch[0].Seq != 0 {
		t.Fatalf("Append on a broken file: %v, seq %d", err, batch[0].Seq)
	}
	if err := l.Err(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Err after a failed write: %v", err)
	}
	if got := seqs(t, l); len(got) != 4 || l.LastSeq() != 4 {
		t.Fatalf("%d records, LastSeq %d; want 4", len(got), l.LastSeq())
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not heal: %v", l.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	appendOne(t, l, 5)
	if got := seqs(t, l); len(got) != 5 {
		t.Fatalf("after healing, %d records, want 5", len(got))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(health) != 2 || health[0] == nil || health[1] != nil {
		t.Fatalf("OnHealth saw %v, want a failure then nil", health)
	}
}
