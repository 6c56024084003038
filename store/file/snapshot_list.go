package file

import (
	"fmt"
	"os"
	"path/filepath"
)

// SnapshotSeqs returns the seqs of the snapshots in the directory, oldest
// first, for tools that check every snapshot (statecast replay -verify).
func (l *Log) SnapshotSeqs() ([]uint64, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	return listSnapshots(l.snapDir)
}

// ReadSnapshot returns the data of the snapshot at seq, checked against
// its checksum.
func (l *Log) ReadSnapshot(seq uint64) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	path := filepath.Join(l.snapDir, snapshotName(seq))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	data, err := decodeSnapshot(b, seq)
	if err != nil {
		return nil, fmt.Errorf("file: snapshot %s: %w", path, err)
	}
	return data, nil
}
