package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Append writes batch as the next records with one write call and, under
// Always, one fdatasync, and sets each action's Seq. It starts a new segment
// first when the active one has reached Options.SegmentSize. An action
// that cannot be encoded fails the batch and leaves the log as it was. A
// failed write or fsync (a full disk, an I/O error) fails the batch with
// an error wrapping store.ErrUnavailable and stops appends until the log
// heals in the background (see Err); the batch never comes back.
func (l *Log) Append(ctx context.Context, batch []*actions.Action) error {
	durable, err := l.Write(ctx, batch)
	if err != nil || durable == nil {
		return err
	}
	if err := durable(); err != nil {
		clearSeqs(batch)
		return err
	}
	return nil
}

// Write is the first half of Append, for store.Pipeliner: it writes batch
// as the next records with one write call and sets each action's Seq, and
// returns a function that makes them durable, or nil when they are
// acknowledged already. Under Always that function
// fdatasyncs, outside the lock that Write takes, so that the next batch is
// written while this one syncs; one fsync covers every batch written
// before it, and a batch an earlier fsync covered returns at once. Under
// Interval and Never the records are acknowledged when Write returns and
// the function returns nil.
//
// Until its function returned nil, a batch is not acknowledged: readers do
// not see it, and a failed write or fsync cuts it off with every later
// one, each function then returning the error that stopped appends. The
// caller calls the functions in the order of the writes.
func (l *Log) Write(ctx context.Context, batch []*actions.Action) (durable func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.refuse(batch); err != nil || len(batch) == 0 {
		return nil, err
	}
	syncHeld := false
	if end := l.size + l.pendingSize; l.f == nil || (end >= l.opts.SegmentSize && end > segmentHeaderSize) {
		defer l.lockSync()()
		syncHeld = true
		if err := l.refuse(batch); err != nil {
			return nil, err
		}
		if err := l.roll(); err != nil {
			return nil, err
		}
	}
	buf, err := l.encode(batch)
	if err != nil {
		return nil, err
	}
	end := l.size + l.pendingSize + int64(len(buf))
	if end > l.allocated {
		err = l.grow(end)
	}
	if err == nil {
		_, err = l.f.WriteAt(buf, end-int64(len(buf)))
	}
	if err != nil {
		// Wait for a sync in progress: it may not acknowledge records
		// that fail cuts off once it began (see syncTo).
		if !syncHeld {
			defer l.lockSync()()
		}
		if l.err != nil { // that sync failed, and cut this batch off too
			clearSeqs(batch)
			return nil, l.err
		}
		return nil, l.fail(batch, fmt.Errorf("writing %s: %w", l.f.Name(), err))
	}
	if cap(buf) > 4<<20 {
		l.buf = nil // do not hold on to the buffer of an unusually large batch
	} else {
		l.buf = buf[:0]
	}
	if l.opts.Fsync != Always {
		l.size += int64(len(buf))
		l.next += uint64(len(batch))
		l.publish()
		return nil, nil
	}
	l.pending += uint64(len(batch))
	l.pendingSize += int64(len(buf))
	gen, last := l.gen, batch[len(batch)-1].Seq
	return func() error { return l.syncTo(gen, last) }, nil
}

// lockSync takes syncMu while l.mu is held, in the order syncTo takes
// them, and returns its unlock. Whatever l.mu guarded may have changed.
func (l *Log) lockSync() (unlock func()) {
	l.mu.Unlock()
	l.syncMu.Lock()
	l.mu.Lock()
	return l.syncMu.Unlock
}

// refuse returns why the log takes no batch now, if it does not; l.mu held.
func (l *Log) refuse(batch []*actions.Action) error {
	switch {
	case l.err != nil:
		return l.err
	case l.opts.ReadOnly:
		return ErrReadOnly
	case l.opts.SnapshotsOnly:
		return ErrSnapshotsOnly
	}
	return nil
}

// syncTo makes the records up to seq, written in generation gen, durable:
// it fsyncs the active segment, outside l.mu, unless an fsync since their
// write already did, and then acknowledges every record that fsync
// covered. A generation ends when appends fail: its records not yet
// acknowledged are gone. Under Always, appends fail only with syncMu held
// (here, in a roll, or in Write, which waits for this fsync first), so no
// generation ends while this fsync runs: what it made durable is never
// cut off and refused.
func (l *Log) syncTo(gen, seq uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	switch {
	case gen != l.gen:
		err := l.lost(gen, seq)
		l.mu.Unlock()
		return err
	case seq < l.next:
		l.mu.Unlock()
		return nil
	case l.err != nil: // closed
		err := l.err
		l.mu.Unlock()
		return err
	}
	f, name := l.f, l.f.Name()
	coveredNext, coveredSize := l.next+l.pending, l.size+l.pendingSize
	l.mu.Unlock()
	err := l.timeSync(f)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		return l.fail(nil, fmt.Errorf("fsync %s: %w", name, err))
	}
	if coveredNext > l.next { // a sync under l.mu may have acknowledged them already
		l.pending -= coveredNext - l.next
		l.pendingSize -= coveredSize - l.size
		l.next, l.size = coveredNext, coveredSize
	}
	l.synced = max(l.synced, coveredNext-1)
	l.publish()
	return nil
}

// lost tells whether the record at seq, written in generation gen that has
// ended since, was acknowledged before it ended (nil) or cut off; l.mu held.
func (l *Log) lost(gen, seq uint64) error {
	if seq < l.genEnds[gen] {
		return nil
	}
	if l.err != nil {
		return l.err
	}
	return fmt.Errorf("file: the batch was cut off when appends failed (%w)", store.ErrUnavailable)
}

// encode sets the batch's seqs and returns its records; l.mu held.
func (l *Log) encode(batch []*actions.Action) ([]byte, error) {
	buf := l.buf[:0]
	for i, a := range batch {
		a.Seq = l.next + l.pending + uint64(i)
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

// roll starts a new segment: it fsyncs the active one (acknowledging the
// records written and waiting for that) and cuts off its zero tail (see
// finish), then creates the new file with its header, fsyncs it and the
// directory. l.mu held. If creating fails, the active segment stays in
// use.
func (l *Log) roll() error {
	if l.f != nil {
		if err := l.syncLocked(); err != nil {
			return err
		}
		if err := l.finish(); err != nil {
			return err
		}
	}
	seg := segment{first: l.next, path: filepath.Join(l.logDir, segmentName(l.next))}
	// O_TRUNC, not O_EXCL: a file of that name is what an earlier failed
	// roll could not remove (the lock keeps every other writer out).
	f, err := l.fs.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
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
	l.f, l.size, l.allocated = f, segmentHeaderSize, segmentHeaderSize
	l.segs = append(l.segs[:len(l.segs):len(l.segs)], seg)
	return nil
}

// segmentName is the file name of the segment starting at seq first.
func segmentName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }
