package file

import (
	"os"
	"path/filepath"
)

// removeOldSnapshots keeps the newest Options.KeepSnapshots snapshots and
// removes the others, then prunes the segments (Options.Prune). Failures
// are logged: the files are merely kept longer.
func (l *Log) removeOldSnapshots() {
	seqs, err := listSnapshots(l.snapDir)
	if err != nil {
		l.log.Warn().Err(err).Msg("cannot list snapshots to remove old ones")
		return
	}
	if len(seqs) > l.opts.KeepSnapshots {
		for _, seq := range seqs[:len(seqs)-l.opts.KeepSnapshots] {
			if err := os.Remove(filepath.Join(l.snapDir, snapshotName(seq))); err != nil {
				l.log.Warn().Err(err).Msg("cannot remove an old snapshot")
			}
		}
		seqs = seqs[len(seqs)-l.opts.KeepSnapshots:]
		if err := syncDir(osFS{}, l.snapDir); err != nil {
			l.log.Warn().Err(err).Msg("removing old snapshots")
		}
	}
	if l.opts.Prune && len(seqs) > 0 {
		l.prune(seqs[0])
	}
}

// prune removes, oldest first, the segments whose records all have seqs
// up to covered, never the one holding the last record. It gives up if a
// Read is running (the next snapshot tries again), so that no reader loses
// a file it is about to open.
func (l *Log) prune(covered uint64) {
	if !l.retain.TryLock() {
		return
	}
	defer l.retain.Unlock()
	l.mu.Lock()
	k := 0
	for k+1 < len(l.segs) && l.segs[k+1].first-1 <= covered && l.segs[k+1].first < l.next {
		k++
	}
	removed := l.segs[:k]
	if k > 0 {
		l.segs = l.segs[k:]
		l.publish()
	}
	l.mu.Unlock()
	if k == 0 {
		return
	}
	for _, seg := range removed {
		if err := l.fs.Remove(seg.path); err != nil {
			l.log.Warn().Err(err).Str("file", seg.path).Msg("cannot remove a segment covered by a snapshot")
			return
		}
	}
	if err := syncDir(l.fs, l.logDir); err != nil {
		l.log.Warn().Err(err).Msg("pruning segments")
	}
	l.log.Info().Int("segments", k).Uint64("first_seq", removed[k-1].first).Uint64("snapshot_seq", covered).
		Msg("removed segments covered by the oldest snapshot kept")
}
