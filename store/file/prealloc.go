package file

import (
	"fmt"
	"io"
)

// zeros is what preallocate writes, one chunk at a time.
var zeros = make([]byte, 1<<20)

// preallocate fills the segment f with zero bytes from its end up to
// Options.SegmentSize, so that appends overwrite bytes inside the file
// and an fdatasync after them commits no change of its size. It does not
// fsync. A failure (a full disk) is logged and harmless: the zeros
// written read as the segment's zero tail, and appends extend the file
// beyond them as they would without preallocation.
func (l *Log) preallocate(f osFile) {
	err := fillZeros(f, l.opts.SegmentSize)
	if err != nil {
		l.log.Warn().Err(err).Str("file", f.Name()).Int64("size", l.opts.SegmentSize).
			Msg("cannot preallocate the segment; appends extend it instead")
	}
}

// fillZeros writes zero bytes to f from its end up to byte size.
func fillZeros(f osFile, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	for off := fi.Size(); off < size; {
		n, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off)
		off += int64(n)
		if err != nil {
			return err
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
