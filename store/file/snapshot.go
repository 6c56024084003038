package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

const (
	snapshotMagic   = "SCASTSNP"
	snapshotVersion = 1
	// snapshotHeaderSize: magic, version (uint32), seq (uint64), data
	// length (uint64), CRC-32C of the header's other bytes and the data.
	snapshotHeaderSize = 8 + 4 + 8 + 8 + 4
)

// SaveSnapshot stores data as the state after seq. It first makes sure the
// log is on disk up to seq (a snapshot is never ahead of the durable log),
// then writes a temporary file, fsyncs it, renames it into place and
// fsyncs the directory: a crash leaves either the new snapshot or none.
// It then removes all but the newest Options.KeepSnapshots snapshots and,
// with Options.Prune, the segments the oldest of those covers.
func (l *Log) SaveSnapshot(seq uint64, data []byte) error {
	if l.opts.ReadOnly {
		return ErrReadOnly
	}
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	if err := l.syncThrough(seq); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(l.snapDir, fmt.Sprintf("%020d.*.tmp", seq))
	if err != nil {
		return fmt.Errorf("file: saving a snapshot: %w", err)
	}
	_, err = tmp.Write(snapshotHeader(seq, data))
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(l.snapDir, snapshotName(seq)))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("file: saving the snapshot at seq %d: %w", seq, err)
	}
	if err := syncDir(osFS{}, l.snapDir); err != nil {
		return err
	}
	l.removeOldSnapshots()
	return nil
}

// syncThrough makes the log durable at least up to seq. (A directory of
// snapshots only has no log of its own to wait for.)
func (l *Log) syncThrough(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed.Load():
		return ErrClosed
	case l.opts.SnapshotsOnly && seq > 0:
		return nil
	case seq == 0 || seq >= l.next:
		return fmt.Errorf("file: a snapshot at seq %d, but the log's last seq is %d", seq, l.next-1)
	case seq <= l.synced:
		return nil
	case l.err != nil:
		return l.err
	}
	return l.syncLocked()
}

// LatestSnapshot returns the newest intact snapshot, or seq 0 and nil data
// when there is none. A damaged snapshot is skipped with a warning, and
// the one before it is tried.
func (l *Log) LatestSnapshot() (seq uint64, data []byte, err error) {
	if l.closed.Load() {
		return 0, nil, ErrClosed
	}
	seqs, err := listSnapshots(l.snapDir)
	if err != nil {
		return 0, nil, err
	}
	for _, seq := range slices.Backward(seqs) {
		path := filepath.Join(l.snapDir, snapshotName(seq))
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since listed
		}
		if err != nil {
			return 0, nil, fmt.Errorf("file: %w", err)
		}
		var newer *FormatError
		if data, err := decodeSnapshot(b, seq); errors.As(err, &newer) {
			newer.File = path
			return 0, nil, newer // not damage: skipping it would fold from an older state
		} else if err != nil {
			l.log.Warn().Str("file", path).Err(err).Msg("skipping a damaged snapshot; trying the one before")
		} else {
			return seq, data, nil
		}
	}
	return 0, nil, nil
}

func snapshotHeader(seq uint64, data []byte) []byte {
	h := make([]byte, 0, snapshotHeaderSize)
	h = append(h, snapshotMagic...)
	h = binary.LittleEndian.AppendUint32(h, snapshotVersion)
	h = binary.LittleEndian.AppendUint64(h, seq)
	h = binary.LittleEndian.AppendUint64(h, uint64(len(data)))
	crc := crc32.Update(crc32.Checksum(h, castagnoli), castagnoli, data)
	return binary.LittleEndian.AppendUint32(h, crc)
}

// decodeSnapshot checks a snapshot file's bytes, named for seq, and
// returns its data.
func decodeSnapshot(b []byte, seq uint64) ([]byte, error) {
	if len(b) < snapshotHeaderSize {
		return nil, fmt.Errorf("incomplete header (%d bytes)", len(b))
	}
	h, data := b[:snapshotHeaderSize], b[snapshotHeaderSize:]
	if err := newerSnapshot(h, data); err != nil {
		return nil, err
	}
	switch {
	case string(h[:8]) != snapshotMagic:
		return nil, fmt.Errorf("not a statecast snapshot (magic %q)", h[:8])
	case binary.LittleEndian.Uint32(h[8:]) != snapshotVersion:
		return nil, fmt.Errorf("snapshot format version %d; this program reads version %d only", binary.LittleEndian.Uint32(h[8:]), snapshotVersion)
	case binary.LittleEndian.Uint64(h[12:]) != seq:
		return nil, fmt.Errorf("header says seq %d, the name says %d", binary.LittleEndian.Uint64(h[12:]), seq)
	case binary.LittleEndian.Uint64(h[20:]) != uint64(len(data)):
		return nil, fmt.Errorf("header says %d bytes of data, the file holds %d", binary.LittleEndian.Uint64(h[20:]), len(data))
	case crc32.Update(crc32.Checksum(h[:28], castagnoli), castagnoli, data) != binary.LittleEndian.Uint32(h[28:]):
		return nil, errors.New("checksum mismatch")
	}
	return data, nil
}

func snapshotName(seq uint64) string { return fmt.Sprintf("%020d.snap", seq) }

// listSnapshots returns the seqs of the snapshots in dir, oldest first.
func listSnapshots(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseName(e.Name(), ".snap"); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}
