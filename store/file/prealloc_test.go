package file

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// fileSize returns the size of the file at path.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestPreallocatedSegment: the first append preallocates the active
// segment; its zero tail is where its records end for a live Read, a
// read-only Open of the running log, and after a crash for Repair and a
// restart, none of which reports it or cuts it off; the next append
// overwrites its zeros. A clean Close cuts it.
func TestPreallocatedSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := Options{SegmentSize: 1 << 20}
	l := mustOpen(t, dir, opts)
	fill(t, l, 5)
	seg := lastSegment(t, dir)
	if got := fileSize(t, seg); got != opts.SegmentSize {
		t.Fatalf("the active segment holds %d bytes, want %d", got, opts.SegmentSize)
	}
	if got := seqs(t, l); len(got) != 5 {
		t.Fatalf("a live Read saw %v, want seqs 1…5", got)
	}
	log, lines := logger()
	ro, err := Open(dir, Options{ReadOnly: true, Logger: log})
	if err != nil {
		t.Fatalf("read-only Open of the running log: %v", err)
	}
	if got := seqs(t, ro); len(got) != 5 || ro.LastSeq() != 5 {
		t.Fatalf("read-only: %v, LastSeq %d; want seqs 1…5", got, ro.LastSeq())
	}
	ro.Close()
	end := l.size
	crashed := copyDir(t, dir) // as a crash leaves it: with the zero tail
	if b, err := os.ReadFile(filepath.Join(dir, "FORMAT")); err != nil || os.WriteFile(filepath.Join(crashed, "FORMAT"), b, 0o644) != nil {
		t.Fatalf("copying FORMAT: %v", err)
	}
	l.Close()
	if got := fileSize(t, seg); got != end {
		t.Fatalf("closed: the segment holds %d bytes, want %d: a clean Close cuts the zero tail", got, end)
	}

	if c, err := Repair(crashed, func(*Cut) bool { return true }); c != nil || err != nil {
		t.Fatalf("Repair of a preallocated segment: %+v, %v; want no damage", c, err)
	}
	opts.Logger = log
	seg = filepath.Join(crashed, "log", filepath.Base(seg))
	l = mustOpen(t, crashed, opts)
	if l.LastSeq() != 5 || l.size != end || fileSize(t, seg) != opts.SegmentSize {
		t.Fatalf("reopened: LastSeq %d, end %d, %d bytes; want 5, %d, %d", l.LastSeq(), l.size, fileSize(t, seg), end, opts.SegmentSize)
	}
	if lines.String() != "" {
		t.Fatalf("the zero tail was reported: %s", lines)
	}
	if start, _ := appendOne(t, l, 6); start != end || fileSize(t, seg) != opts.SegmentSize {
		t.Fatalf("the next record starts at %d in %d bytes, want at %d in %d", start, fileSize(t, seg), end, opts.SegmentSize)
	}
	if got := seqs(t, l); len(got) != 6 {
		t.Fatalf("read %v, want seqs 1…6", got)
	}
}

// TestFinishedSegmentsEndWithTheirRecords: a rolled segment has no zero
// tail, even one preallocated for a larger SegmentSize before a restart.
func TestFinishedSegmentsEndWithTheirRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 1 << 20})
	fill(t, l, 3)
	l.Close()
	l = mustOpen(t, dir, Options{SegmentSize: 300})
	for i := 4; i <= 30; i++ {
		appendOne(t, l, i)
	}
	paths := segmentPaths(t, dir)
	if len(paths) < 3 {
		t.Fatalf("%d segments, want several", len(paths))
	}
	for i, p := range paths[:len(paths)-1] {
		b := readFile(t, p)
		if _, err := scanSegment(p, bytes.NewReader(b), int64(len(b)), segFirst(t, p), false, false, nil); err != nil {
			t.Fatalf("finished segment %d: %v", i, err)
		}
	}
	if got, want := fileSize(t, paths[len(paths)-1]), max(300, l.size); got != want {
		t.Fatalf("the active segment holds %d bytes, want %d", got, want)
	}
}

// TestFailedAppendGivesUpPreallocation: a failed write cuts the active
// segment back to its last acknowledged record, zero tail included; once
// healed, the next append preallocates it again, and a power loss keeps
// every acknowledged record.
func TestFailedAppendGivesUpPreallocation(t *testing.T) {
	t.Parallel()
	fsys := newFaultFS(1)
	dir := t.TempDir()
	opts := Options{SegmentSize: 8192, fs: fsys, healEvery: time.Millisecond}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fill(t, l, 3)
	seg := l.segs[0].path
	fsys.mu.Lock()
	fsys.inject = func(op, _ string) (error, bool) {
		if op == "write" {
			fsys.inject = nil
			return errNoSpace, true
		}
		return nil, false
	}
	fsys.mu.Unlock()
	if err := l.Append(context.Background(), []*actions.Action{message(4)}); err == nil {
		t.Fatal("the failed append succeeded")
	}
	waitHealed(t, l)
	if got := int64(len(fsys.durable(seg))); got != l.size {
		t.Fatalf("after healing the segment holds %d bytes, want %d", got, l.size)
	}
	appendOne(t, l, 4)
	if got := int64(len(fsys.durable(seg))); got != opts.SegmentSize {
		t.Fatalf("after the next append the segment holds %d bytes, want %d", got, opts.SegmentSize)
	}
	l.Close()
	fsys.restart(true, false)
	opts.healEvery = 0
	if l, err = Open(dir, opts); err != nil || l.LastSeq() != 4 {
		t.Fatalf("after a power loss: %v, LastSeq %d; want 4", err, l.LastSeq())
	}
	l.Close()
}

// TestPreallocationFailure: zeros the disk cannot take fail the append
// as a failed write of its records does; the log heals, and the next
// append preallocates and succeeds.
func TestPreallocationFailure(t *testing.T) {
	t.Parallel()
	fsys := newFaultFS(1)
	dir := t.TempDir()
	armed := false
	fsys.inject = func(op, name string) (error, bool) {
		switch {
		case op != "write":
		case len(fsys.files[name].data) == 0: // a new segment's header
			armed = true
		case armed: // the first append's zeros
			fsys.inject = nil
			return errNoSpace, true
		}
		return nil, false
	}
	opts := Options{SegmentSize: 1 << 20, fs: fsys, healEvery: time.Millisecond}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), []*actions.Action{message(1)}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("an append whose zeros found the disk full: %v, want ErrUnavailable", err)
	}
	waitHealed(t, l)
	fill(t, l, 30)
	seg := l.segs[len(l.segs)-1].path
	fsys.mu.Lock()
	size := int64(len(fsys.files[seg].data))
	fsys.mu.Unlock()
	if size != opts.SegmentSize {
		t.Fatalf("after healing the segment holds %d bytes, want %d: preallocated again", size, opts.SegmentSize)
	}
	l.Close()
	fsys.restart(true, false)
	opts.healEvery = 0
	if l, err = Open(dir, opts); err != nil || l.LastSeq() != 30 {
		t.Fatalf("after a power loss: %v, LastSeq %d; want 30", err, l.LastSeq())
	}
	if got := seqs(t, l); len(got) != 30 {
		t.Fatalf("read %d records, want 30", len(got))
	}
	l.Close()
}

// TestPreallocatedCrashAtEveryStep crashes a log whose batches overwrite
// preallocated pages at every file-system operation, with and without a
// power loss tearing the unsynced pages, and checks that recovery keeps
// every acknowledged record and yields a prefix of the records written.
func TestPreallocatedCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for step := 1; ; step++ {
		done := true
		for _, loss := range []struct{ power, torn bool }{{false, false}, {true, false}, {true, true}} {
			fsys, dir := newFaultFS(uint64(step)), t.TempDir()
			fsys.crashAt = step
			acked := preallocatedRun(fsys, dir)
			done = done && !fsys.isCrashed()
			fsys.restart(loss.power, loss.torn)
			what := fmt.Sprintf("crash at step %d, power loss %v, torn %v", step, loss.power, loss.torn)
			l, err := Open(dir, Options{SegmentSize: 6000, fs: fsys})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got := seqs(t, l); l.LastSeq() < acked || len(got) != int(l.LastSeq()) {
				t.Fatalf("%s: LastSeq %d, %d records read; want at least %d", what, l.LastSeq(), len(got), acked)
			}
			l.Close()
		}
		if done {
			return
		}
	}
}

// preallocatedRun appends 40 batches of one to three messages, through a
// roll, until the file system crashes, and returns the last seq
// acknowledged.
func preallocatedRun(fsys *faultFS, dir string) uint64 {
	l, err := Open(dir, Options{SegmentSize: 6000, fs: fsys})
	if err != nil {
		return 0
	}
	defer l.Close()
	var acked uint64
	for b, i := 0, 1; b < 40; b++ {
		var batch []*actions.Action
		for range 1 + b%3 {
			batch = append(batch, message(i))
			i++
		}
		if err := l.Append(context.Background(), batch); err != nil {
			return acked
		}
		acked = batch[len(batch)-1].Seq
	}
	return acked
}

// waitHealed waits until appends work again.
func waitHealed(t *testing.T, l *Log) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); l.Err() != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not heal: %v", l.Err())
		}
	}
}

// segFirst returns the first seq of the segment at path, from its name.
func segFirst(t *testing.T, path string) uint64 {
	t.Helper()
	first, ok := parseName(filepath.Base(path), ".seg")
	if !ok {
		t.Fatalf("%s is not a segment", path)
	}
	return first
}

// TestAppendInProgressIsLiveTail: a record copied into the zero tail up to
// any byte, as a reader of a running log may see it, ends a read-only scan
// before it, and is damage to a scan that no writer can be racing.
func TestAppendInProgressIsLiveTail(t *testing.T) {
	t.Parallel()
	var data []byte
	data = append(data, segmentHeader(1)...)
	for i := 1; i <= 2; i++ {
		rec, err := actions.AppendBinary(make([]byte, recordHeaderSize), &actions.Action{Seq: uint64(i), Type: actions.TypeWriteMessage,
			Room: "lobby", Payload: actions.WriteMessage{Message: fmt.Sprintf("message number %d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		sealRecord(rec)
		data = append(data, rec...)
	}
	first := int64(segmentHeaderSize)
	second := first + recordHeaderSize + int64(binary.LittleEndian.Uint32(data[first:]))
	for cut := second + recordHeaderSize; !allZero(data[cut:]); cut++ {
		b := append(append([]byte(nil), data[:cut]...), make([]byte, 8192)...)
		sc, err := scanSegment("live.seg", bytes.NewReader(b), int64(len(b)), 1, true, true, nil)
		if err != nil || sc.torn == nil || sc.end != second || sc.next != 2 {
			t.Fatalf("live, copied up to %d: %+v, %v; want a torn tail at %d", cut, sc, err, second)
		}
		_, err = scanSegment("live.seg", bytes.NewReader(b), int64(len(b)), 1, true, false, nil)
		if ce := (*CorruptError)(nil); !errors.As(err, &ce) || ce.Offset != second {
			t.Fatalf("not live, copied up to %d: %v; want damage at %d", cut, err, second)
		}
	}
}
