package file

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// recover scans every segment (see scanSegment), repairs a torn tail
// unless read-only, and sets up the log to read and append; appends
// preallocate the active segment ahead of them (see grow). A CUT marker
// (see fail) cuts the last segment where it says first. A directory or
// segment in a newer format is refused first (see checkFormat).
func (l *Log) recover() error {
	if err := l.checkFormat(); err != nil {
		return err
	}
	segs, err := listSegmentsIn(l.fs, l.logDir)
	if err != nil {
		return err
	}
	cutSeg, cutOff, cut := l.readCut()
	var next uint64
	var end int64
	for i := 0; i < len(segs); i++ {
		seg, last := segs[i], i == len(segs)-1
		if i == 0 && seg.first == 0 || i > 0 && seg.first != next {
			return &CorruptError{File: seg.path, Offset: 0, LastGoodSeq: max(next, 1) - 1, Later: paths(segs[i+1:]),
				Reason: fmt.Sprintf("the segment's name says it starts at seq %d but the one before ends at seq %d: segments are missing or misnamed", seg.first, max(next, 1)-1)}
		}
		limit := int64(-1)
		if last && cut && filepath.Base(seg.path) == cutSeg {
			limit = cutOff
		}
		sc, err := l.scanFile(seg, last, limit)
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Later = paths(segs[i+1:])
		}
		if err != nil {
			return err
		}
		if sc.torn != nil {
			if err := l.dropTornTail(seg, sc); err != nil {
				return err
			}
			if sc.end == 0 { // nothing but an incomplete header: the segment is gone
				segs = segs[:i]
				break
			}
		}
		next, end = sc.next, sc.end
	}
	l.segs, l.next, l.size = segs, max(next, 1), end
	if len(segs) > 0 && !l.opts.ReadOnly {
		seg := segs[len(segs)-1]
		if l.f, err = l.fs.OpenFile(seg.path, os.O_WRONLY, 0); err != nil {
			return fmt.Errorf("file: %w", err)
		}
		fi, err := l.f.Stat()
		if err != nil {
			return fmt.Errorf("file: %w", err)
		}
		l.allocated = fi.Size()
		if err := l.f.Sync(); err != nil { // records a previous process left in the page cache
			return fmt.Errorf("file: fsync %s: %w", seg.path, err)
		}
	}
	l.synced = l.next - 1
	l.publish()
	if cut && !l.opts.ReadOnly {
		if err := l.fs.Remove(filepath.Join(l.logDir, cutName)); err != nil {
			return fmt.Errorf("file: %w", err)
		}
		return syncDir(l.fs, l.logDir)
	}
	return nil
}

// scanFile opens and scans one segment, up to byte limit if not negative:
// what lies beyond is reported as a torn tail, the records of a failed
// append that the CUT marker says to cut.
func (l *Log) scanFile(seg segment, last bool, limit int64) (segScan, error) {
	f, err := l.fs.OpenFile(seg.path, os.O_RDONLY, 0)
	if err != nil {
		return segScan{}, fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return segScan{}, fmt.Errorf("file: %w", err)
	}
	size := fi.Size()
	if limit < 0 || limit >= size {
		return scanSegment(seg.path, f, size, seg.first, last, l.live(), nil)
	}
	sc, err := scanSegment(seg.path, f, limit, seg.first, last, l.live(), nil)
	if err == nil && sc.torn == nil {
		sc.torn = &recordError{Offset: sc.end, Reason: "the records of an append that failed and was refused (" + cutName + " marker)"}
	}
	return sc, err
}

// live reports whether a writer may be appending to the log as it opens.
func (l *Log) live() bool { return l.opts.ReadOnly && !l.opts.noWriter }

// dropTornTail cuts the torn record off the end of the last segment (or
// removes a segment with an incomplete header), and says so in the log.
// Read-only, it only notes where reading stops.
func (l *Log) dropTornTail(seg segment, sc segScan) error {
	fi, err := l.fs.Stat(seg.path)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	ev := l.log.Warn()
	msg := "truncated a torn record at the end of the log: an append cut off by a crash"
	if l.opts.ReadOnly {
		ev = l.log.Info()
		msg = "read-only: stopping before an incomplete record at the end of the log (a crash, or an append in progress)"
	}
	ev.Str("file", seg.path).Int64("offset", sc.torn.Offset).Int64("dropped_bytes", fi.Size()-sc.end).
		Uint64("last_seq", sc.next-1).Str("reason", sc.torn.Reason).Msg(msg)
	if l.opts.ReadOnly {
		return nil
	}
	if sc.end == 0 {
		if err := l.fs.Remove(seg.path); err != nil {
			return fmt.Errorf("file: removing a segment with a torn header: %w", err)
		}
		return syncDir(l.fs, l.logDir)
	}
	f, err := l.fs.OpenFile(seg.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(sc.end); err != nil {
		return fmt.Errorf("file: truncating the torn tail of %s: %w", seg.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("file: fsync %s: %w", seg.path, err)
	}
	return nil
}

// listSegments returns the segments in dir, oldest first. A missing
// directory holds none. Files not named like segments are ignored.
func listSegments(dir string) ([]segment, error) { return listSegmentsIn(osFS{}, dir) }

// listSegmentsIn is listSegments on fsys.
func listSegmentsIn(fsys fileSystem, dir string) ([]segment, error) {
	entries, err := fsys.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	var segs []segment
	for _, e := range entries {
		if first, ok := parseName(e.Name(), ".seg"); ok && e.Type().IsRegular() {
			segs = append(segs, segment{first: first, path: filepath.Join(dir, e.Name())})
		}
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	return segs, nil
}

// parseName parses "<20 digits><ext>".
func parseName(name, ext string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

func paths(segs []segment) []string {
	var p []string
	for _, s := range segs {
		p = append(p, s.path)
	}
	return p
}
