package file

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The on-disk format; doc.go describes it for people.
const (
	segmentMagic   = "SCASTLOG"
	segmentVersion = 1
	// segmentHeaderSize: magic, version (uint32), first seq (uint64), CRC.
	segmentHeaderSize = 8 + 4 + 8 + 4
	// recordHeaderSize: payload length (uint32), CRC (uint32).
	recordHeaderSize = 8
	// MaxRecordSize bounds the binary form of one action. A larger length
	// field on disk is damage, not a record.
	MaxRecordSize = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segmentHeader returns the header of the segment whose first seq is first.
func segmentHeader(first uint64) []byte {
	h := make([]byte, 0, segmentHeaderSize)
	h = append(h, segmentMagic...)
	h = binary.LittleEndian.AppendUint32(h, segmentVersion)
	h = binary.LittleEndian.AppendUint64(h, first)
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}

// checkSegmentHeader checks a complete header against the one expected for
// a segment whose name says it starts at first.
func checkSegmentHeader(h []byte, first uint64) error {
	switch {
	case string(h[:8]) != segmentMagic:
		return fmt.Errorf("not a statecast log segment (magic %q, want %q)", h[:8], segmentMagic)
	case crc32.Checksum(h[:20], castagnoli) != binary.LittleEndian.Uint32(h[20:]):
		return errors.New("segment header checksum mismatch")
	case binary.LittleEndian.Uint32(h[8:]) != segmentVersion:
		return fmt.Errorf("segment format version %d; this program reads version %d only",
			binary.LittleEndian.Uint32(h[8:]), segmentVersion)
	case binary.LittleEndian.Uint64(h[12:]) != first:
		return fmt.Errorf("header says the segment starts at seq %d, its name says %d",
			binary.LittleEndian.Uint64(h[12:]), first)
	}
	return nil
}

// recordCRC is the CRC-32C of a record's length field and payload.
func recordCRC(lenField, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenField, castagnoli), castagnoli, payload)
}

// sealRecord fills in the 8-byte header at b[0:8] for the payload b[8:].
func sealRecord(b []byte) {
	binary.LittleEndian.PutUint32(b, uint32(len(b)-recordHeaderSize))
	binary.LittleEndian.PutUint32(b[4:], recordCRC(b[:4], b[recordHeaderSize:]))
}

// A recordError says why the record at Offset could not be read. Torn
// records are incomplete at the end of the input.
type recordError struct {
	Offset int64
	Torn   bool  // the input ends inside the record
	End    int64 // where a complete record (CRC mismatch) ends, else 0
	Reason string
}

func (e *recordError) Error() string {
	return fmt.Sprintf("%s at byte offset %d", e.Reason, e.Offset)
}

// recordReader reads records from a segment's body with large reads, and
// returns each payload as a slice of its buffer, valid until the next call.
type recordReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	off        int64 // file offset of buf[start]
	eof        bool
}

// newRecordReader reads records from r, whose first byte is at offset off
// of the file, with buf as its buffer (grown when a record is larger).
func newRecordReader(r io.Reader, off int64, buf []byte) *recordReader {
	return &recordReader{r: r, off: off, buf: buf}
}

// fill reads until n bytes are buffered or the input ends.
func (rr *recordReader) fill(n int) error {
	if rr.end-rr.start >= n || rr.eof {
		return nil
	}
	if n > len(rr.buf)-rr.start {
		if n > len(rr.buf) {
			nb := make([]byte, max(n, 2*len(rr.buf)))
			rr.end = copy(nb, rr.buf[rr.start:rr.end])
			rr.buf = nb
		} else {
			rr.end = copy(rr.buf, rr.buf[rr.start:rr.end])
		}
		rr.start = 0
	}
	for rr.end-rr.start < n {
		m, err := rr.r.Read(rr.buf[rr.end:])
		rr.end += m
		if err == io.EOF {
			rr.eof = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// next returns the next record's payload and offset, io.EOF at a clean end,
// a *recordError for a damaged or torn record, or an I/O error.
func (rr *recordReader) next() (payload []byte, off int64, err error) {
	off = rr.off
	if err := rr.fill(recordHeaderSize); err != nil {
		return nil, off, err
	}
	avail := rr.end - rr.start
	if avail == 0 {
		return nil, off, io.EOF
	}
	if avail < recordHeaderSize {
		return nil, off, &recordError{Offset: off, Torn: true, Reason: "incomplete record header"}
	}
	h := rr.buf[rr.start : rr.start+recordHeaderSize]
	n := binary.LittleEndian.Uint32(h)
	if n == 0 || n > MaxRecordSize {
		return nil, off, &recordError{Offset: off, Reason: fmt.Sprintf("impossible record length %d", n)}
	}
	size := recordHeaderSize + int(n)
	if err := rr.fill(size); err != nil {
		return nil, off, err
	}
	if rr.end-rr.start < size {
		return nil, off, &recordError{Offset: off, Torn: true, Reason: fmt.Sprintf(
			"incomplete record (%d of %d bytes)", rr.end-rr.start, size)}
	}
	rec := rr.buf[rr.start : rr.start+size]
	if recordCRC(rec[:4], rec[recordHeaderSize:]) != binary.LittleEndian.Uint32(rec[4:]) {
		return nil, off, &recordError{Offset: off, End: off + int64(size), Reason: "record checksum mismatch"}
	}
	rr.start += size
	rr.off += int64(size)
	return rec[recordHeaderSize:], off, nil
}

// allZero reports whether b holds only zero bytes (a tail the file system
// extended but never wrote).
func allZero(b []byte) bool {
	return len(bytes.Trim(b, "\x00")) == 0
}
