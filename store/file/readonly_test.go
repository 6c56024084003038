package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/statecast/statecast/actions"
)

func TestReadOnlyNeverWrites(t *testing.T) {
	t.Parallel()
	lo := layouts[1]
	dir := lo.build(t)
	l := mustOpen(t, dir, lo.opts)
	if err := l.SaveSnapshot(10, []byte("ten")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	truncate(t, lastSegment(t, dir), lo.start+5) // a torn tail
	before := sizes(t, dir)

	log, lines := logger()
	r := mustOpen(t, dir, Options{ReadOnly: true, Logger: log})
	if got := seqs(t, r); len(got) != lo.n-1 || r.LastSeq() != uint64(lo.n-1) || r.FirstSeq() != 1 {
		t.Fatalf("read-only: %d records, FirstSeq %d, LastSeq %d; want %d from 1", len(got), r.FirstSeq(), r.LastSeq(), lo.n-1)
	}
	if seq, data, err := r.LatestSnapshot(); seq != 10 || string(data) != "ten" || err != nil {
		t.Fatalf("LatestSnapshot = %d %q %v", seq, data, err)
	}
	if err := r.Append(context.Background(), []*actions.Action{message(1)}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Append on a read-only log: %v", err)
	}
	if err := r.SaveSnapshot(5, []byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("SaveSnapshot on a read-only log: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := sizes(t, dir); after != before {
		t.Fatalf("a read-only log changed the directory:\n%s\n%s", before, after)
	}
	if lines.String() == "" {
		t.Fatal("no log line about the torn tail")
	}
}

func TestReadOnlyMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "none")
	l := mustOpen(t, dir, Options{ReadOnly: true})
	if l.LastSeq() != 0 || len(seqs(t, l)) != 0 {
		t.Fatal("a missing directory is not an empty log")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a read-only Open created the directory: %v", err)
	}
}

func TestReadOnlyBesideWriter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{SegmentSize: 300})
	fill(t, w, 12)
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a second writer opened the directory")
	}
	r := mustOpen(t, dir, Options{ReadOnly: true})
	appendOne(t, w, 13)
	if got := seqs(t, r); len(got) != 12 || r.LastSeq() != 12 {
		t.Fatalf("the reader sees %d records, LastSeq %d; want the 12 there when it opened", len(got), r.LastSeq())
	}
}
