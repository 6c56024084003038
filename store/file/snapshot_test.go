package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statecast/statecast/actions"
)

func latest(t *testing.T, l *Log) (uint64, string) {
	t.Helper()
	seq, data, err := l.LatestSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return seq, string(data)
}

func save(t *testing.T, l *Log, seqs ...uint64) {
	t.Helper()
	for _, seq := range seqs {
		if err := l.SaveSnapshot(seq, []byte(strings.Repeat("s", int(seq)))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSnapshotSaveAndLatest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	if seq, data := latest(t, l); seq != 0 || data != "" {
		t.Fatalf("no snapshots yet, got %d %q", seq, data)
	}
	fill(t, l, 10)
	save(t, l, 4, 9)
	if seq, data := latest(t, l); seq != 9 || data != strings.Repeat("s", 9) {
		t.Fatalf("latest = %d %q", seq, data)
	}
	for _, seq := range []uint64{0, 11} {
		if err := l.SaveSnapshot(seq, nil); err == nil {
			t.Fatalf("SaveSnapshot(%d) with LastSeq 10 succeeded", seq)
		}
	}
	l.Close()
	if _, _, err := l.LatestSnapshot(); err == nil {
		t.Fatal("LatestSnapshot after Close succeeded")
	}
	if seq, _ := latest(t, mustOpen(t, dir, Options{})); seq != 9 {
		t.Fatalf("after reopening, latest = %d", seq)
	}
}

func TestSnapshotFallsBack(t *testing.T) {
	t.Parallel()
	log, lines := logger()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Logger: log})
	fill(t, l, 10)
	save(t, l, 3, 6, 9)
	snap := func(seq uint64) string { return filepath.Join(dir, "snapshots", snapshotName(seq)) }
	flip(t, snap(9), snapshotHeaderSize+1)
	if seq, data := latest(t, l); seq != 6 || data != "ssssss" {
		t.Fatalf("with 9 damaged, latest = %d %q; want 6", seq, data)
	}
	if !strings.Contains(lines.String(), snap(9)) || !strings.Contains(lines.String(), "warn") {
		t.Fatalf("no warning naming the damaged snapshot: %s", lines)
	}
	truncate(t, snap(6), 10)
	if seq, _ := latest(t, l); seq != 3 {
		t.Fatalf("with 9 and 6 damaged, latest = %d; want 3", seq)
	}
	os.WriteFile(snap(3), []byte("garbage that is long enough to hold a header"), 0o644)
	if seq, data := latest(t, l); seq != 0 || data != "" {
		t.Fatalf("with all damaged, latest = %d %q; want none", seq, data)
	}
}

func TestSnapshotKeepsNewest(t *testing.T) {
	t.Parallel()
	for _, keep := range []int{0, 1, 5} {
		dir := t.TempDir()
		l := mustOpen(t, dir, Options{KeepSnapshots: keep})
		fill(t, l, 10)
		save(t, l, 1, 2, 3, 4, 5, 6, 7)
		seqs, _ := listSnapshots(filepath.Join(dir, "snapshots"))
		want := keep
		if keep == 0 {
			want = DefaultKeepSnapshots
		}
		if len(seqs) != want || seqs[len(seqs)-1] != 7 {
			t.Fatalf("KeepSnapshots %d: kept %v", keep, seqs)
		}
	}
}

func TestSnapshotSyncsTheLogFirst(t *testing.T) {
	t.Parallel()
	l := mustOpen(t, t.TempDir(), Options{Fsync: Off})
	fill(t, l, 5)
	if l.synced >= 4 {
		t.Fatalf("Fsync Off synced up to %d already", l.synced)
	}
	save(t, l, 4)
	if l.synced < 4 {
		t.Fatalf("the log is synced up to %d only, after a snapshot at 4", l.synced)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := Options{SegmentSize: 300, Prune: true, KeepSnapshots: 2}
	l := mustOpen(t, dir, opts)
	fill(t, l, 60)
	segsBefore := len(segmentPaths(t, dir))
	save(t, l, 20)
	first := l.FirstSeq()
	if first <= 1 || first > 21 || len(segmentPaths(t, dir)) >= segsBefore {
		t.Fatalf("after a snapshot at 20: FirstSeq %d, %d of %d segments left", first, len(segmentPaths(t, dir)), segsBefore)
	}
	save(t, l, 40)
	if l.FirstSeq() != first {
		t.Fatalf("pruned past the oldest snapshot kept (20): FirstSeq %d", l.FirstSeq())
	}
	save(t, l, 60) // the oldest kept is now 40; the segment holding 60 stays
	first = l.FirstSeq()
	got := seqs(t, l)
	if first <= 21 || first > 41 || got[0] != first || got[len(got)-1] != 60 || l.LastSeq() != 60 {
		t.Fatalf("FirstSeq %d, reading gives %d..%d", first, got[0], got[len(got)-1])
	}
	l.Close()
	l = mustOpen(t, dir, opts)
	if l.FirstSeq() != first || l.LastSeq() != 60 {
		t.Fatalf("after reopening: FirstSeq %d LastSeq %d, want %d 60", l.FirstSeq(), l.LastSeq(), first)
	}
	appendOne(t, l, 61)
}

func TestPruneWaitsForReaders(t *testing.T) {
	t.Parallel()
	l := mustOpen(t, t.TempDir(), Options{SegmentSize: 300, Prune: true})
	fill(t, l, 30)
	reading, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- l.Read(context.Background(), 0, func(a *actions.Action) error {
			if a.Seq == 1 {
				close(reading)
				<-release
			}
			return nil
		})
	}()
	<-reading
	save(t, l, 25)
	if l.FirstSeq() != 1 {
		t.Fatalf("pruned to FirstSeq %d under a running Read", l.FirstSeq())
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	save(t, l, 26)
	if l.FirstSeq() == 1 {
		t.Fatal("the next snapshot did not prune")
	}
}

// TestSnapshotsOnly: a directory of snapshots of a log kept elsewhere takes
// snapshots at any seq, gives back the newest, and refuses appends and
// pruning.
func TestSnapshotsOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Open(dir, Options{SnapshotsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{100, 250} {
		if err := l.SaveSnapshot(seq, []byte(fmt.Sprint("state ", seq))); err != nil {
			t.Fatalf("SaveSnapshot(%d) on an empty log: %v", seq, err)
		}
	}
	if err := l.SaveSnapshot(0, []byte("x")); err == nil {
		t.Fatal("SaveSnapshot(0) succeeded")
	}
	if err := l.Append(context.Background(), []*actions.Action{{ID: "a", Type: "x"}}); !errors.Is(err, ErrSnapshotsOnly) {
		t.Fatalf("Append = %v, want ErrSnapshotsOnly", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(dir, Options{SnapshotsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if seq, data, err := l.LatestSnapshot(); err != nil || seq != 250 || string(data) != "state 250" {
		t.Fatalf("LatestSnapshot = %d, %q, %v; want 250, \"state 250\"", seq, data, err)
	}
	if _, err := Open(t.TempDir(), Options{SnapshotsOnly: true, Prune: true}); err == nil {
		t.Fatal("SnapshotsOnly with Prune opened")
	}
}
