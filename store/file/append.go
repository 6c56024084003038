package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/statecast/statecast/actions"
)

// Append writes batch as the next records with one write call and, under
// Always, one fsync, and sets each action's Seq. It starts a new segment
// first when the active one has reached Options.SegmentSize. An action
// that cannot be encoded fails the batch and leaves the log as it was. A
// failed write or fsync (a full disk, an I/O error) fails the batch with
// an error wrapping store.ErrUnavailable and stops appends until the log
// heals in the background (see Err); the batch never comes back.
func (l *Log) Append(ctx context.Context, batch []*actions.Action) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.err != nil:
		return l.err
	case l.opts.ReadOnly:
		return ErrReadOnly
	case l.opts.SnapshotsOnly:
		return ErrSnapshotsOnly
	case len(batch) == 0:
		return nil
	}
	buf, err := l.encode(batch)
	if err != nil {
		return err
	}
	if l.f == nil || (l.size >= l.opts.SegmentSize && l.size > segmentHeaderSize) {
		if err := l.roll(); err != nil {
			clearSeqs(batch)
			return err
		}
	}
	if _, err := l.f.Write(buf); err != nil {
		return l.fail(batch, fmt.Errorf("writing %s: %w", l.f.Name(), err))
	}
	if l.opts.Fsync == Always {
		if err := l.syncSegment(); err != nil {
			return l.fail(batch, fmt.Errorf("fsync %s: %w", l.f.Name(), err))
		}
		l.synced = l.next - 1 + uint64(len(batch))
	}
	l.size += int64(len(buf))
	l.next += uint64(len(batch))
	l.publish()
	if cap(buf) > 4<<20 {
		buf = nil // do not hold on to the buffer of an unusually large batch
	}
	l.buf = buf[:0]
	return nil
}

// encode sets the batch's seqs and returns its records; l.mu held.
func (l *Log) encode(batch []*actions.Action) ([]byte, error) {
	buf := l.buf[:0]
	for i, a := range batch {
		a.Seq = l.next + uint64(i)
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // the record header, sealed below
		var err error
		if buf, err = actions.AppendBinary(buf, a); err != nil {
			clearSeqs(batch)
			return nil, fmt.Errorf("file: encoding action %d of the batch: %w", i, err)
		}
		if n := len(buf) - start - recordHeaderSize; n > MaxRecordSize {
			clearSeqs(batch)
			return nil, fmt.Errorf("file: action %d of the batch (%s) takes %d bytes, more than MaxRecordSize", i, a.Type, n)
		}
		sealRecord(buf[start:])
	}
	return buf, nil
}

func clearSeqs(batch []*actions.Action) {
	for _, a := range batch {
		a.Seq = 0
	}
}

// roll starts a new segment at seq l.next: it fsyncs the active one, then
// creates the new file with its header, fsyncs it and the directory.
// l.mu held. If creating fails, the active segment stays in use.
func (l *Log) roll() error {
	if l.f != nil {
		if err := l.syncSegment(); err != nil {
			return l.fail(nil, fmt.Errorf("fsync %s: %w", l.f.Name(), err))
		}
		l.synced = l.next - 1
	}
	seg := segment{first: l.next, path: filepath.Join(l.logDir, segmentName(l.next))}
	// O_TRUNC, not O_EXCL: a file of that name is what an earlier failed
	// roll could not remove (the lock keeps every other writer out).
	f, err := l.fs.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return l.fail(nil, fmt.Errorf("starting segment %s: %w", seg.path, err))
	}
	_, err = f.Write(segmentHeader(seg.first))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(l.fs, l.logDir)
	}
	if err != nil {
		f.Close()
		l.fs.Remove(seg.path)
		return l.fail(nil, fmt.Errorf("starting segment %s: %w", seg.path, err))
	}
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			l.log.Warn().Err(err).Str("file", l.f.Name()).Msg("closing a finished segment")
		}
	}
	l.f, l.size = f, segmentHeaderSize
	l.segs = append(l.segs[:len(l.segs):len(l.segs)], seg)
	return nil
}

// segmentName is the file name of the segment starting at seq first.
func segmentName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }
