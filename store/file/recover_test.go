package file

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout is a log built once and copied for each case.
type layout struct {
	name       string
	opts       Options
	n          int   // records
	start, end int64 // the last record's bytes in the last segment
}

var layouts = []layout{
	{name: "OneSegment", opts: Options{SegmentSize: 1 << 20}, n: 8},
	{name: "ManySegments", opts: Options{SegmentSize: 300}, n: 30},
}

// build writes the layout's records into a new directory.
func (lo *layout) build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, lo.opts)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, lo.n-1)
	lo.start, lo.end = appendOne(t, l, lo.n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyDir copies the log and snapshots of src into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, sub := range []string{"log", "snapshots"} {
		if err := os.CopyFS(filepath.Join(dst, sub), os.DirFS(filepath.Join(src, sub))); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestTornLastRecordAtEveryOffset(t *testing.T) {
	t.Parallel()
	for _, lo := range layouts {
		t.Run(lo.name, func(t *testing.T) {
			t.Parallel()
			master := lo.build(t)
			for cut := lo.start + 1; cut < lo.end; cut++ {
				dir := copyDir(t, master)
				seg := lastSegment(t, dir)
				if err := os.Truncate(seg, cut); err != nil {
					t.Fatal(err)
				}
				checkTornRecovery(t, dir, lo, seg, cut-lo.start, fmt.Sprintf("cut at %d", cut))
			}
		})
	}
}

// checkTornRecovery opens dir, whose last record is torn, and checks that
// it is dropped with a warning, everything before it is intact, and
// appends continue.
func checkTornRecovery(t *testing.T, dir string, lo layout, seg string, dropped int64, what string) {
	t.Helper()
	log, lines := logger()
	opts := lo.opts
	opts.Logger = log
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	defer l.Close()
	if got := seqs(t, l); len(got) != lo.n-1 || l.LastSeq() != uint64(lo.n-1) {
		t.Fatalf("%s: %d records, LastSeq %d; want %d", what, len(got), l.LastSeq(), lo.n-1)
	}
	if fi, err := os.Stat(seg); err != nil || fi.Size() != lo.start {
		t.Fatalf("%s: segment not truncated to %d: %v %v", what, lo.start, fi.Size(), err)
	}
	for _, want := range []string{`"level":"warn"`, "torn record", seg, fmt.Sprintf(`"offset":%d`, lo.start), fmt.Sprintf(`"dropped_bytes":%d`, dropped)} {
		if !strings.Contains(lines.String(), want) {
			t.Fatalf("%s: the log lacks %q: %s", what, want, lines)
		}
	}
	appendOne(t, l, lo.n)
	if l.LastSeq() != uint64(lo.n) {
		t.Fatalf("%s: the next append got seq %d, want %d", what, l.LastSeq(), lo.n)
	}
	if got := seqs(t, l); len(got) != lo.n {
		t.Fatalf("%s: %d records after appending, want %d", what, len(got), lo.n)
	}
}

func TestTornTailVariants(t *testing.T) {
	t.Parallel()
	lo := layouts[0]
	master := lo.build(t)
	for _, c := range []struct {
		name    string
		damage  func(t *testing.T, seg string)
		dropped int64
	}{
		{"LastRecordEndsInUnwrittenPages", func(t *testing.T, seg string) {
			// The record's length claims bytes up to past a page boundary,
			// from which on the file system never wrote them.
			truncate(t, seg, lo.start)
			n := 4096 - lo.start%4096 + 100 - recordHeaderSize
			rec := make([]byte, recordHeaderSize+n)
			binary.LittleEndian.PutUint32(rec, uint32(n))
			copy(rec[recordHeaderSize:], []byte{byte(lo.n)})
			appendBytes(t, seg, rec[:4096-lo.start%4096])
			appendBytes(t, seg, make([]byte, len(rec)-int(4096-lo.start%4096)))
		}, 4096 - lo.start%4096 + 100},
		{"ZeroTailFromPage", func(t *testing.T, seg string) {
			// The record's header and first bytes were written, the rest
			// of the preallocated zeros not: a complete record, checksum
			// failing, zero from a page boundary inside it to the end.
			truncate(t, seg, lo.start)
			n := 4096 - lo.start%4096 + 100 - recordHeaderSize
			rec := make([]byte, recordHeaderSize+n)
			binary.LittleEndian.PutUint32(rec, uint32(n))
			copy(rec[recordHeaderSize:], []byte{byte(lo.n)})
			appendBytes(t, seg, rec[:4096-lo.start%4096])
			appendBytes(t, seg, make([]byte, 20000))
		}, 4096 - lo.start%4096 + 20000},
		{"HeaderWrittenPayloadZero", func(t *testing.T, seg string) {
			truncate(t, seg, lo.start+recordHeaderSize)
			appendBytes(t, seg, make([]byte, 20))
		}, recordHeaderSize + 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, master)
			seg := lastSegment(t, dir)
			c.damage(t, seg)
			checkTornRecovery(t, dir, lo, seg, c.dropped, c.name)
		})
	}
}

func TestTornSegmentHeader(t *testing.T) {
	t.Parallel()
	lo := layouts[1]
	master := lo.build(t)
	for _, c := range []struct {
		name   string
		header []byte
	}{
		{"Empty", nil},
		{"Partial", segmentHeader(uint64(lo.n + 1))[:10]},
		{"Zeros", make([]byte, segmentHeaderSize)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, master)
			seg := filepath.Join(dir, "log", segmentName(uint64(lo.n+1)))
			if err := os.WriteFile(seg, c.header, 0o644); err != nil {
				t.Fatal(err)
			}
			log, lines := logger()
			l := mustOpen(t, dir, Options{SegmentSize: lo.opts.SegmentSize, Logger: log})
			if _, err := os.Stat(seg); !os.IsNotExist(err) {
				t.Fatalf("the segment with a torn header is still there: %v", err)
			}
			if !strings.Contains(lines.String(), "incomplete segment header") && !strings.Contains(lines.String(), "zero-filled") {
				t.Fatalf("no warning: %s", lines)
			}
			appendOne(t, l, lo.n+1)
			if got := seqs(t, l); len(got) != lo.n+1 {
				t.Fatalf("%d records, want %d", len(got), lo.n+1)
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write(b)
		f.Close()
	}
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
}
