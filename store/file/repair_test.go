package file

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRepairMovesLaterSegmentsAndSnapshots(t *testing.T) {
	t.Parallel()
	lo := layouts[1]
	master := lo.build(t)
	l := mustOpen(t, master, lo.opts)
	for _, seq := range []uint64{3, uint64(lo.n)} {
		if err := l.SaveSnapshot(seq, []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	dir := copyDir(t, master)
	segs := segmentPaths(t, dir)
	off := recordOffsets(t, segs[1])[1]
	flip(t, segs[1], off+recordHeaderSize+1)
	before := sizes(t, filepath.Join(dir, "log")) + sizes(t, filepath.Join(dir, "snapshots"))

	c, err := Repair(dir, func(*Cut) bool { return false })
	if err != nil || c == nil || c.Backup != "" || sizes(t, filepath.Join(dir, "log"))+sizes(t, filepath.Join(dir, "snapshots")) != before {
		t.Fatalf("a declined Repair: %+v, %v; or it changed the directory", c, err)
	}
	c, err = Repair(dir, func(*Cut) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "snapshots", snapshotName(uint64(lo.n)))
	want := append(slices.Clone(segs[1:]), snap)
	if !slices.Equal(c.Files, want) || c.LastLost != uint64(lo.n) || c.FirstLost != c.Damage.LastGoodSeq+1 {
		t.Fatalf("Repair cut %v, lost %d..%d; want %v, up to %d", c.Files, c.FirstLost, c.LastLost, want, lo.n)
	}
	for _, f := range want[1:] {
		if _, err := os.Stat(filepath.Join(c.Backup, filepath.Base(f))); err != nil {
			t.Errorf("no copy of %s: %v", f, err)
		}
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	l = mustOpen(t, dir, lo.opts)
	if l.LastSeq() != c.Damage.LastGoodSeq {
		t.Fatalf("after Repair, LastSeq %d, want %d", l.LastSeq(), c.Damage.LastGoodSeq)
	}
	if seq, _, err := l.LatestSnapshot(); err != nil || seq != 3 {
		t.Fatalf("after Repair, the latest snapshot is at %d (%v), want 3", seq, err)
	}
	l.Close()
	if c, err := Repair(dir, func(*Cut) bool { t.Fatal("asked to cut an intact log"); return false }); c != nil || err != nil {
		t.Fatalf("Repair of an intact log: %+v, %v", c, err)
	}
}
