package file

import (
	"fmt"
	"io"
)

// preallocChunk is how far ahead of its records the active segment is
// filled with zeros: a size change, and its journal commit, every 1 MiB of
// records instead of every batch, and at most 1 MiB of zeros to flush at
// once.
const preallocChunk = 1 << 20

// zeros is what grow writes.
var zeros = make([]byte, preallocChunk)

// grow fills the active segment with zero bytes from l.allocated up to
// preallocChunk past end, the end of the records about to be written (but
// not past Options.SegmentSize unless they are), so that the appends that
// follow overwrite bytes inside the file and an fdatasync after them
// commits no change of its size. It does not sync: the next fdatasync
// flushes the zeros with the records. It fails as a write of the records
// would: zeros that filled the disk leave no room for them either, and
// the caller's failure cuts the segment back to its records. l.mu held.
func (l *Log) grow(end int64) error {
	target := max(end, min(end+preallocChunk, l.opts.SegmentSize))
	for l.allocated < target {
		n, err := l.f.WriteAt(zeros[:min(int64(len(zeros)), target-l.allocated)], l.allocated)
		l.allocated += int64(n)
		if err != nil {
			return fmt.Errorf("preallocating: %w", err)
		}
	}
	return nil
}

// finish cuts the zero tail off the active segment, when it has one,
// before the next segment starts, so that a finished segment ends with
// its last record: fsynced, and l.size the end of its records. l.mu held.
func (l *Log) finish() error {
	fi, err := l.f.Stat()
	if err == nil && fi.Size() > l.size {
		err = l.f.Truncate(l.size)
		if err == nil {
			err = l.f.Sync()
		}
	}
	if err != nil {
		return l.fail(nil, fmt.Errorf("finishing segment %s: %w", l.f.Name(), err))
	}
	return nil
}

// zeroTailFrom returns where the zero bytes at the end of bytes [off,
// size) of ra begin: size if the last byte is not zero, off if all are.
func zeroTailFrom(ra io.ReaderAt, off, size int64) int64 {
	buf := make([]byte, 64<<10)
	for size > off {
		n := min(int64(len(buf)), size-off)
		b := buf[:n]
		if k, err := ra.ReadAt(b, size-n); int64(k) != n && err != nil {
			return size
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return size - n + int64(i) + 1
			}
		}
		size -= n
	}
	return off
}
