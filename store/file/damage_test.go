package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordOffsets returns the byte offset of every record in a segment.
func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(segmentHeaderSize, 0)
	rr := newRecordReader(f, segmentHeaderSize, make([]byte, 4096))
	var offs []int64
	for {
		_, off, err := rr.next()
		if err != nil {
			return offs
		}
		offs = append(offs, off)
	}
}

// segmentPaths returns the segment files in dir, oldest first.
func segmentPaths(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	return paths(segs)
}

func putLength(t *testing.T, path string, off int64, n uint32) {
	t.Helper()
	b := readFile(t, path)
	binary.LittleEndian.PutUint32(b[off:], n)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDamageFailsOpen(t *testing.T) {
	t.Parallel()
	one, many := layouts[0], layouts[1]
	masters := map[string]string{one.name: one.build(t), many.name: many.build(t)}
	for _, c := range []struct {
		name   string
		layout string
		// damage damages dir and returns the file and offset the error must name.
		damage func(t *testing.T, segs []string) (string, int64)
		want   string // also in the message
	}{
		{"FlipInMiddleOfSegment", one.name, func(t *testing.T, segs []string) (string, int64) {
			off := recordOffsets(t, segs[0])[3]
			flip(t, segs[0], off+recordHeaderSize+2)
			return segs[0], off
		}, "checksum mismatch"},
		{"FlipInEarlierSegment", many.name, func(t *testing.T, segs []string) (string, int64) {
			off := recordOffsets(t, segs[0])[1]
			flip(t, segs[0], off+recordHeaderSize+5)
			return segs[0], off
		}, "later segment files"},
		{"FlipInLastSegmentOfMany", many.name, func(t *testing.T, segs []string) (string, int64) {
			last := segs[len(segs)-1]
			off := recordOffsets(t, last)[0]
			flip(t, last, off+recordHeaderSize)
			return last, off
		}, "truncate -s"},
		{"LengthBeyondEOF", one.name, func(t *testing.T, segs []string) (string, int64) {
			off := recordOffsets(t, segs[0])[2]
			putLength(t, segs[0], off, 1<<20)
			return segs[0], off
		}, "incomplete record"},
		{"ImpossibleLength", one.name, func(t *testing.T, segs []string) (string, int64) {
			off := recordOffsets(t, segs[0])[2]
			putLength(t, segs[0], off, 0xffffffff)
			return segs[0], off
		}, "impossible record length"},
		{"TornEarlierSegment", many.name, func(t *testing.T, segs []string) (string, int64) {
			off := recordOffsets(t, segs[1])[1]
			truncate(t, segs[1], off+3)
			return segs[1], off
		}, "incomplete record header"},
		{"BadMagic", many.name, func(t *testing.T, segs []string) (string, int64) {
			flip(t, segs[1], 0)
			return segs[1], 0
		}, "rm "},
		{"HeaderChecksum", one.name, func(t *testing.T, segs []string) (string, int64) {
			flip(t, segs[0], 14) // in the first seq
			return segs[0], 0
		}, "header checksum"},
		{"MissingSegment", many.name, func(t *testing.T, segs []string) (string, int64) {
			os.Remove(segs[1])
			return segs[2], 0
		}, "segments are missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, masters[c.layout])
			file, off := c.damage(t, segmentPaths(t, dir))
			before := sizes(t, filepath.Join(dir, "log"))
			l, err := Open(dir, Options{SegmentSize: many.opts.SegmentSize})
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded on a damaged log")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != file || ce.Offset != off {
				t.Fatalf("Open: %v; want a CorruptError at %s offset %d", err, file, off)
			}
			msg := err.Error()
			for _, want := range []string{file, fmt.Sprintf("byte offset %d", off), "restore the file from a backup", "loses the actions after seq", c.want} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error lacks %q: %s", want, msg)
				}
			}
			if off >= segmentHeaderSize && !strings.Contains(msg, fmt.Sprintf("truncate -s %d %s", off, file)) {
				t.Errorf("the error lacks the truncate command: %s", msg)
			}
			if after := sizes(t, filepath.Join(dir, "log")); after != before {
				t.Errorf("a failed Open changed the directory:\n%s\n%s", before, after)
			}
		})
	}
}

// sizes describes every file in dir: names, sizes and modification times.
func sizes(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
