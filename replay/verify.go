package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// Verdict is what Verify made of one snapshot.
type Verdict int

const (
	// Equal: the snapshot equals the state rebuilt from the log.
	Equal Verdict = iota
	// Origin: the snapshot is where the fold starts (the log before it
	// was pruned), so there is nothing to check it against.
	Origin
	// Pruned: skipped, the log no longer holds the records after it.
	Pruned
	// Later: skipped, written after the log was opened (it is past
	// LastSeq, and the log holds it now).
	Later
	// Removed: skipped, the server removed it before Verify read it.
	Removed
)

func (v Verdict) String() string {
	switch v {
	case Equal:
		return "equal to the state rebuilt from the log"
	case Origin:
		return "the starting point, the log before it was pruned"
	case Pruned:
		return "skipped, the log no longer holds the records after it"
	case Later:
		return "skipped, written after replay read the log"
	case Removed:
		return "skipped, removed by the server while replay ran"
	}
	return fmt.Sprintf("verdict %d", int(v))
}

// Check is Verify's verdict on the snapshot at Seq.
type Check struct {
	Seq     uint64
	Verdict Verdict
}

// Verification sums up Verify: Listed snapshots were found, Checked of
// them equal the state rebuilt from the log.
type Verification struct {
	Listed, Checked int
}

// A MismatchError is a snapshot that differs from the state rebuilt from
// the log. Seq is the first seq at which the two provably differ (see the
// package documentation); Agreed is the seq where the rebuilt state last
// matched a snapshot, or where the fold started.
type MismatchError struct {
	Snapshot, Seq, Agreed uint64
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("snapshot %d differs from the state rebuilt from the log: they agree at seq %d and first differ at seq %d (a reducer that is not deterministic, or a history other than the server's)", e.Snapshot, e.Agreed, e.Seq)
}

// Verify folds the log from its start and compares the state with every
// snapshot of the data directory, oldest first, calling check with each
// verdict and progress, if not nil, with each seq folded. The first
// snapshot that differs ends it with a *MismatchError. A log read from a
// stream has no snapshots: Verify finds none. On a live server's
// directory, snapshots may appear after the log was opened, or be removed
// before they are read: those are skipped, and said so.
func (l *Log) Verify(ctx context.Context, check func(Check), progress func(seq uint64)) (Verification, error) {
	var v Verification
	if l.file == nil {
		return v, nil
	}
	seqs, err := l.file.SnapshotSeqs()
	if err != nil {
		return v, err
	}
	v.Listed = len(seqs)
	var codec chat.Codec
	state, seq, laterLast := l.start, l.from, uint64(0)
	t := newTracker(l.from)
	for _, snapSeq := range seqs {
		switch {
		case snapSeq < l.from:
			check(Check{snapSeq, Pruned})
			continue
		case snapSeq == l.from:
			check(Check{snapSeq, Origin})
			continue
		case snapSeq > l.last:
			// Written after Open read the log, or the log lost records?
			if laterLast == 0 {
				laterLast = lastSeqNow(l.dir)
			}
			if laterLast < snapSeq {
				return v, fmt.Errorf("snapshot %d: the log ends at seq %d, before the snapshot", snapSeq, l.last)
			}
			check(Check{snapSeq, Later})
			continue
		}
		data, err := l.file.ReadSnapshot(snapSeq)
		if errors.Is(err, fs.ErrNotExist) {
			check(Check{snapSeq, Removed})
			continue
		}
		if err != nil {
			return v, err
		}
		state, seq, err = store.Fold(ctx, l.log, state, seq, l.reduce, func(ch store.Change[chat.State]) error {
			if ch.Seq > snapSeq {
				return errStop
			}
			if progress != nil {
				progress(ch.Seq)
			}
			t.record(ch)
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return v, err
		}
		snap, err := codec.Decode(data)
		if err != nil {
			return v, fmt.Errorf("snapshot %d: %w", snapSeq, err)
		}
		rebuilt, _ := codec.Encode(state)
		stored, _ := codec.Encode(snap)
		if !bytes.Equal(rebuilt, stored) {
			return v, &MismatchError{Snapshot: snapSeq, Seq: t.firstDiff(rebuilt, stored, snapSeq), Agreed: t.agreed}
		}
		v.Checked++
		t = newTracker(snapSeq)
		check(Check{snapSeq, Equal})
	}
	return v, nil
}

// lastSeqNow opens the log in dir again and returns its last seq now, or 0.
func lastSeqNow(dir string) uint64 {
	log, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		return 0
	}
	defer log.Close()
	return log.LastSeq()
}
