package file

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// place is where one record lies.
type place struct {
	file       string
	start, end int64
	seq        uint64
}

// lastTwo returns where the last two records of the log in dir lie, in
// one segment or two.
func lastTwo(t *testing.T, dir string) []place {
	t.Helper()
	var all []place
	seq := uint64(0)
	for _, seg := range segmentPaths(t, dir) {
		offs := recordOffsets(t, seg)
		for i, off := range offs {
			end := off + recordHeaderSize + int64(binary.LittleEndian.Uint32(readFile(t, seg)[off:]))
			if i+1 < len(offs) {
				end = offs[i+1]
			}
			seq++
			all = append(all, place{seg, off, end, seq})
		}
	}
	return all[len(all)-2:]
}

// TestLastTwoRecordsAtEveryOffset cuts the log at every byte offset of its
// last two records (a torn tail: cut and logged, or damage when an earlier
// segment is cut short), and flips every byte of them (damage: Open fails
// naming the file, offset and seq and the repair command; Repair cuts
// there, keeps a copy and reports the seqs lost; the log then opens).
func TestLastTwoRecordsAtEveryOffset(t *testing.T) {
	t.Parallel()
	for _, lo := range layouts {
		t.Run(lo.name, func(t *testing.T) {
			t.Parallel()
			master := lo.build(t)
			recs := lastTwo(t, master)
			for i, r := range recs {
				for off := r.start; off < r.end; off++ {
					if off > r.start {
						checkCut(t, copyDir(t, master), lo, r, recs[i:], off)
					}
					checkFlip(t, copyDir(t, master), lo, r, off)
				}
			}
		})
	}
}

// checkCut truncates the log at off, inside record r: the records from r
// on are gone. In the last segment that is a torn tail; a segment cut
// short before another is damage, and a torn tail once that other goes.
func checkCut(t *testing.T, dir string, lo layout, r place, from []place, off int64) {
	what := fmt.Sprintf("cut %s at %d", filepath.Base(r.file), off)
	seg := filepath.Join(dir, "log", filepath.Base(r.file))
	truncate(t, seg, off)
	if last := from[len(from)-1]; last.file != r.file {
		var ce *CorruptError
		if _, err := Open(dir, Options{SegmentSize: lo.opts.SegmentSize}); !errors.As(err, &ce) || ce.File != seg || ce.Offset != r.start {
			t.Fatalf("%s: Open with a later segment: %v; want damage at %s offset %d", what, err, seg, r.start)
		}
		os.Remove(filepath.Join(dir, "log", filepath.Base(last.file)))
	}
	log, lines := logger()
	l, err := Open(dir, Options{SegmentSize: lo.opts.SegmentSize, Logger: log})
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	defer l.Close()
	if got := seqs(t, l); uint64(len(got)) != r.seq-1 {
		t.Fatalf("%s: %d records, want %d", what, len(got), r.seq-1)
	}
	for _, want := range []string{"torn record", seg, fmt.Sprintf(`"offset":%d`, r.start), fmt.Sprintf(`"dropped_bytes":%d`, off-r.start)} {
		if !strings.Contains(lines.String(), want) {
			t.Fatalf("%s: the log lacks %q: %s", what, want, lines)
		}
	}
}

// checkFlip inverts the byte at off, inside record r.
func checkFlip(t *testing.T, dir string, lo layout, r place, off int64) {
	what := fmt.Sprintf("flip %s at %d", filepath.Base(r.file), off)
	seg := filepath.Join(dir, "log", filepath.Base(r.file))
	flip(t, seg, off)
	damaged := readFile(t, seg)
	_, err := Open(dir, Options{SegmentSize: lo.opts.SegmentSize})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != seg || ce.Offset != r.start || ce.LastGoodSeq != r.seq-1 {
		t.Fatalf("%s: Open: %v; want damage at %s offset %d after seq %d", what, err, seg, r.start, r.seq-1)
	}
	for _, want := range []string{seg, fmt.Sprintf("byte offset %d", r.start), fmt.Sprintf("seq %d", r.seq), "statecast repair -data " + dir} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: the error lacks %q: %v", what, want, err)
		}
	}
	c, err := Repair(dir, func(*Cut) bool { return true })
	if err != nil || c == nil || c.FirstLost != r.seq || c.LastLost < r.seq-1 || c.LastLost > uint64(lo.n) {
		t.Fatalf("%s: Repair: %+v, %v", what, c, err)
	}
	if kept := readFile(t, filepath.Join(c.Backup, fmt.Sprintf("%s.from-%d", filepath.Base(seg), r.start))); !bytes.Equal(kept, damaged[r.start:]) {
		t.Fatalf("%s: the copy of what was cut holds %d bytes, want the %d from offset %d", what, len(kept), len(damaged)-int(r.start), r.start)
	}
	l, err := Open(dir, Options{SegmentSize: lo.opts.SegmentSize})
	if err != nil {
		t.Fatalf("%s: Open after Repair: %v", what, err)
	}
	defer l.Close()
	if got := seqs(t, l); uint64(len(got)) != r.seq-1 {
		t.Fatalf("%s: %d records after Repair, want %d", what, len(got), r.seq-1)
	}
}
