package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/statecast/statecast/actions"
)

// CorruptError reports damage that recovery cannot repair by itself
// without dropping acknowledged actions. Its message names the file and
// the byte offset and says how to repair it by hand.
type CorruptError struct {
	// File is the damaged file's path.
	File string
	// Offset is the byte offset of the damage in File.
	Offset int64
	// Reason says what is wrong.
	Reason string
	// LastGoodSeq is the seq of the last intact record before Offset.
	LastGoodSeq uint64
	// Later lists the segments after File, which a truncation at Offset
	// would also have to drop.
	Later []string
}

// Error names the file, the offset, the seq and the damage, and says how
// to repair it: with `statecast repair` (see Repair), or by hand.
func (e *CorruptError) Error() string {
	var fix string
	if e.Offset < segmentHeaderSize {
		fix = fmt.Sprintf("restore the file from a backup, or delete it (`rm %s`)", e.File)
	} else {
		fix = fmt.Sprintf("restore the file from a backup, or truncate it at offset %d to drop everything after it with `truncate -s %d %s`",
			e.Offset, e.Offset, e.File)
	}
	if len(e.Later) > 0 {
		fix += fmt.Sprintf(" and delete the %d later segment files (%s)", len(e.Later), strings.Join(e.Later, ", "))
	}
	return fmt.Sprintf("file: %s is damaged at byte offset %d, where seq %d should be: %s; to repair, run `statecast repair -data %s` "+
		"(it cuts the log there, keeps a copy of what it cuts and reports the seqs lost), or by hand: %s — either loses the actions after seq %d",
		e.File, e.Offset, e.LastGoodSeq+1, e.Reason, e.dir(), fix, e.LastGoodSeq)
}

// dir is the data directory holding File (DIR/log/<segment>).
func (e *CorruptError) dir() string { return filepath.Dir(filepath.Dir(e.File)) }

// segScan is what scanning one segment found.
type segScan struct {
	next uint64       // seq after its last intact record
	end  int64        // byte offset after its last intact record
	torn *recordError // the torn record at the end (last segment only), or nil
}

// scanSegment checks the segment named name, of size bytes read from ra,
// whose name says it starts at seq first: its header, every record's CRC,
// that every record decodes and that seqs are consecutive. It calls visit,
// if not nil, with each action. In the last segment (last), zero bytes
// from the end of a record to the end of the file are its zero tail (see
// grow), where its records end, and a record cut off by a crash
// before that end is reported in segScan.torn, as is, if live (a writer
// may be appending to the segment), an append in progress (see
// liveTail); any other damage is a *CorruptError.
func scanSegment(name string, ra io.ReaderAt, size int64, first uint64, last, live bool, visit func(*actions.Action)) (segScan, error) {
	sc := segScan{next: first}
	corrupt := func(off int64, reason string) error {
		return &CorruptError{File: name, Offset: off, Reason: reason, LastGoodSeq: sc.next - 1}
	}
	h := make([]byte, min(size, segmentHeaderSize))
	if _, err := ra.ReadAt(h, 0); err != nil && err != io.EOF {
		return sc, err
	}
	if size < segmentHeaderSize {
		want := segmentHeader(first)
		if last && (allZero(h) || string(h) == string(want[:size])) {
			sc.torn = &recordError{Offset: 0, Torn: true, Reason: "incomplete segment header"}
			return sc, nil
		}
		return sc, corrupt(0, fmt.Sprintf("incomplete or damaged segment header (%d bytes)", size))
	}
	if err := checkSegmentHeader(h, first); err != nil {
		if last && allZeroAt(ra, 0, size) {
			sc.torn = &recordError{Offset: 0, Torn: true, Reason: "zero-filled segment"}
			return sc, nil
		}
		return sc, corrupt(0, err.Error())
	}
	sc.end = segmentHeaderSize
	rr := newRecordReader(io.NewSectionReader(ra, segmentHeaderSize, size-segmentHeaderSize), segmentHeaderSize, make([]byte, 256<<10))
	for {
		payload, off, err := rr.next()
		if err == io.EOF {
			return sc, nil
		}
		var re *recordError
		if errors.As(err, &re) {
			if last && allZeroAt(ra, off, size) {
				return sc, nil // the zero tail of a preallocated segment
			}
			if last && (tornTail(ra, re, size, sc.next) || live && liveTail(ra, off, size, sc.next)) {
				sc.torn = re
				return sc, nil
			}
			return sc, corrupt(off, re.Reason)
		}
		if err != nil {
			return sc, fmt.Errorf("file: reading %s: %w", name, err)
		}
		a, err := actions.DecodeBinary(payload)
		if err != nil {
			return sc, corrupt(off, fmt.Sprintf("record with a valid checksum does not decode: %v", err))
		}
		if a.Seq != sc.next {
			return sc, corrupt(off, fmt.Sprintf("record has seq %d, want %d", a.Seq, sc.next))
		}
		if visit != nil {
			visit(a)
		}
		sc.next++
		sc.end = rr.off
	}
}

// tornTail reports whether the damaged record re, in the last segment and
// not followed by zero bytes only, is what a crash during an append
// leaves: a record running to the end of the file, or to zero bytes that
// run there, never one followed by more data.
func tornTail(ra io.ReaderAt, re *recordError, size int64, seq uint64) bool {
	switch {
	case re.End > 0:
		// A complete record whose CRC fails is damage, unless its end is
		// pages never written (the file system extended the file by them,
		// or they are a preallocated segment's zeros) up to the end of the
		// file, and its length field is intact.
		return zeroPagesFrom(ra, re.Offset, re.End, size) && !intactToEOF(ra, re.Offset, size) &&
			!recordFollows(ra, re.Offset+recordHeaderSize+1, size, seq)
	case !re.Torn:
		return false
	}
	// An append is cut off at the end, so what is there is a prefix of the
	// record: if its seq can be read, it must be the next one.
	body := re.Offset + recordHeaderSize
	if body >= size || allZeroAt(ra, body, size) {
		return true // the header was written, the payload's pages not (yet)
	}
	p := make([]byte, min(size-body, binary.MaxVarintLen64))
	if _, err := ra.ReadAt(p, body); err != nil && err != io.EOF {
		return false
	}
	if v, n := binary.Uvarint(p); n < 0 || n > 0 && v != seq {
		return false
	}
	// A damaged length field can also claim more bytes than the file
	// holds while the record itself is intact: it then runs to the end of
	// the file with a CRC that holds for its true length, or intact
	// records follow.
	return !intactToEOF(ra, re.Offset, size) && !recordFollows(ra, body+1, size, seq)
}

// liveTail reports whether the damaged record at off, in the last segment
// of a log that a writer may be appending to, is an append in progress,
// copied into the segment's zero tail as it is read: it is intact when
// read again, or zero bytes follow it to the end of the file with no
// intact record before them.
func liveTail(ra io.ReaderAt, off, size int64, seq uint64) bool {
	if intactAt(ra, off) {
		return true
	}
	if zeroTailFrom(ra, off, size) == size || recordFollows(ra, off+1, size, seq) {
		return intactAt(ra, off) // the writer may have moved on meanwhile
	}
	return true
}

// intactAt reports whether the bytes at off of ra are a record whose CRC
// holds.
func intactAt(ra io.ReaderAt, off int64) bool {
	h := make([]byte, recordHeaderSize)
	if _, err := ra.ReadAt(h, off); err != nil {
		return false
	}
	n := binary.LittleEndian.Uint32(h)
	if n == 0 || n > MaxRecordSize {
		return false
	}
	p := make([]byte, n)
	if _, err := ra.ReadAt(p, off+recordHeaderSize); err != nil {
		return false
	}
	return recordCRC(h[:4], p) == binary.LittleEndian.Uint32(h[4:])
}

// intactToEOF reports whether the bytes from the record at off to the end
// of the file, or to the zero tail there, are a record whose CRC holds
// with the length field set to their length: an intact last record with a
// damaged length field. As its payload may itself end in zero bytes, it
// tries each end up to maxZeroEnd bytes into the zero tail.
func intactToEOF(ra io.ReaderAt, off, size int64) bool {
	z := max(zeroTailFrom(ra, off, size), off+recordHeaderSize+1)
	last := min(size, z+maxZeroEnd, off+recordHeaderSize+MaxRecordSize)
	if z > last {
		return false
	}
	rec := make([]byte, last-off)
	if _, err := ra.ReadAt(rec, off); err != nil && err != io.EOF {
		return false
	}
	crc := binary.LittleEndian.Uint32(rec[4:])
	for end := z; end <= last; end++ {
		n := end - off - recordHeaderSize
		binary.LittleEndian.PutUint32(rec, uint32(n))
		if recordCRC(rec[:4], rec[recordHeaderSize:recordHeaderSize+n]) == crc {
			return true
		}
	}
	return false
}

// maxZeroEnd bounds the zero bytes at the end of a payload that
// intactToEOF considers.
const maxZeroEnd = 64

// zeroPagesFrom reports whether the record at off, ending at end, ends in
// zero bytes from a page boundary (4096 bytes) after off on, and only zero
// bytes follow to the end of the file: pages never written.
func zeroPagesFrom(ra io.ReaderAt, off, end, size int64) bool {
	page := (off/4096 + 1) * 4096
	return page < end && allZeroAt(ra, page, size)
}

// recordFollows reports whether an intact record with a seq after seq
// starts anywhere in bytes [from, size) of ra, before its zero tail.
func recordFollows(ra io.ReaderAt, from, size int64, seq uint64) bool {
	size = min(size, zeroTailFrom(ra, from, size)+maxZeroEnd)
	if size-from < recordHeaderSize+1 {
		return false
	}
	tail := make([]byte, size-from)
	if _, err := ra.ReadAt(tail, from); err != nil && err != io.EOF {
		return false
	}
	for i := 0; i+recordHeaderSize < len(tail); i++ {
		n := int(binary.LittleEndian.Uint32(tail[i:]))
		if n == 0 || n > len(tail)-i-recordHeaderSize {
			continue
		}
		rec := tail[i : i+recordHeaderSize+n]
		if recordCRC(rec[:4], rec[recordHeaderSize:]) != binary.LittleEndian.Uint32(rec[4:]) {
			continue
		}
		if v, k := binary.Uvarint(rec[recordHeaderSize:]); k > 0 && v > seq {
			return true
		}
	}
	return false
}

// allZeroAt reports whether bytes [off, size) of ra are all zero.
func allZeroAt(ra io.ReaderAt, off, size int64) bool {
	buf := make([]byte, 64<<10)
	for off < size {
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if !allZero(buf[:n]) || (err != nil && err != io.EOF) || n == 0 {
			return false
		}
		off += int64(n)
	}
	return true
}
