package file

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"sync"

	"github.com/statecast/statecast/actions"
)

// readBufSize is the size of Read's reads from a segment file.
const readBufSize = 512 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// Read calls fn for every record with seq >= from, in order, up to the
// last record appended when Read began, and returns the first error fn
// returns. It reads the segments with large buffered reads and checks
// every record's CRC; reaching from inside a segment means scanning that
// segment from its start. It may run concurrently with Append, and
// Options.Prune removes no segment while a Read runs.
func (l *Log) Read(ctx context.Context, from uint64, fn func(a *actions.Action) error) error {
	if l.closed.Load() {
		return ErrClosed
	}
	l.retain.RLock()
	defer l.retain.RUnlock()
	v := l.view.Load()
	if len(v.segs) == 0 || from > v.last {
		return nil
	}
	i := max(sort.Search(len(v.segs), func(i int) bool { return v.segs[i].first > from })-1, 0)
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	r := reading{fs: l.fs, ctx: ctx, from: from, last: v.last, fn: fn, buf: *bp}
	for ; i < len(v.segs) && v.segs[i].first <= v.last; i++ {
		end := int64(math.MaxInt64)
		if i == len(v.segs)-1 {
			end = v.end
		}
		if err := r.segment(v.segs[i], end); err != nil {
			if errors.Is(err, errDone) {
				break
			}
			return err
		}
	}
	if cap(r.buf) == readBufSize {
		*bp = r.buf
	}
	return nil
}

// errDone ends a Read once it passed the last seq of its view.
var errDone = errors.New("done")

// reading is the state of one Read.
type reading struct {
	fs         fileSystem
	ctx        context.Context
	from, last uint64
	fn         func(a *actions.Action) error
	buf        []byte
	n          int // records read, for checking ctx now and then
}

// segment reads seg's records up to byte offset end.
func (r *reading) segment(seg segment, end int64) error {
	f, err := r.fs.OpenFile(seg.path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	h := make([]byte, segmentHeaderSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return fmt.Errorf("file: reading the header of %s: %w", seg.path, err)
	}
	if err := checkSegmentHeader(h, seg.first); err != nil {
		return &CorruptError{File: seg.path, Offset: 0, Reason: err.Error(), LastGoodSeq: seg.first - 1}
	}
	rr := newRecordReader(io.NewSectionReader(f, segmentHeaderSize, end-segmentHeaderSize), segmentHeaderSize, r.buf)
	defer func() { r.buf = rr.buf }()
	want := seg.first
	for {
		payload, off, err := rr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var re *recordError
			if errors.As(err, &re) {
				return &CorruptError{File: seg.path, Offset: off, Reason: re.Reason, LastGoodSeq: want - 1}
			}
			return fmt.Errorf("file: reading %s: %w", seg.path, err)
		}
		seq, _ := binary.Uvarint(payload)
		if seq != want {
			return &CorruptError{File: seg.path, Offset: off, LastGoodSeq: want - 1,
				Reason: fmt.Sprintf("record has seq %d, want %d", seq, want)}
		}
		want++
		if seq > r.last {
			return errDone
		}
		if seq < r.from {
			continue
		}
		if r.n++; r.n%4096 == 0 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
		a, err := actions.DecodeBinary(payload)
		if err != nil {
			return &CorruptError{File: seg.path, Offset: off, LastGoodSeq: seq - 1,
				Reason: fmt.Sprintf("record with a valid checksum does not decode: %v", err)}
		}
		if err := r.fn(a); err != nil {
			return err
		}
	}
}
