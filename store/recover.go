package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"slices"

	"github.com/statecast/statecast/actions"
)

// recoveryGCPercent is the GC target while the store recovers.
const recoveryGCPercent = 400

// Newest, as the seq of Start, asks for the newest snapshot.
const Newest = ^uint64(0)

// SnapshotLister is Snapshots that can also list and read every snapshot
// it holds, as store/file's Log does. Start needs it to pick a snapshot
// other than the newest.
type SnapshotLister interface {
	Snapshots
	// SnapshotSeqs returns the seqs of the snapshots held, oldest first.
	SnapshotSeqs() ([]uint64, error)
	// ReadSnapshot returns the data of the snapshot at seq; an error that
	// wraps fs.ErrNotExist if it is gone.
	ReadSnapshot(seq uint64) ([]byte, error)
}

// recoverState rebuilds the state: the start Start chooses for the newest
// state, then every later record of the log. It returns the state and its
// seq.
func recoverState[S any](ctx context.Context, initial S, reduce Reducer[S], opts Options[S]) (S, uint64, error) {
	// Recovery makes a state per action and drops it at once: collecting
	// less often while it runs cuts its time by about a third (BENCHMARKS.md).
	// The process's setting is back when Open returns.
	defer debug.SetGCPercent(debug.SetGCPercent(recoveryGCPercent))
	state, seq, err := Start(opts.Log, opts.Snapshots, opts.Codec, initial, Newest)
	if err != nil || opts.Log == nil {
		return state, seq, err
	}
	return Fold(ctx, opts.Log, state, seq, reduce, nil)
}

// Start chooses the state from which a fold of log rebuilds the state
// after seq, and returns it with the seq it is the state after. It is the
// one place that chooses a snapshot: Open calls it with Newest, to fold as
// little as possible; package replay with 0, to rebuild as much as the log
// holds. In order, it takes:
//
//  1. the newest snapshot at or before seq, if log (nil: none) holds every
//     record after it;
//  2. initial at seq 0, if log holds every record from seq 1 (or is empty);
//  3. the oldest snapshot after seq that log holds every record after (a
//     log whose older records were removed: no fold can start earlier).
//
// With seq Newest, step 1 reads snaps.LatestSnapshot (which may skip a
// damaged snapshot); other seqs and step 3 need snaps to be a
// SnapshotLister, and skip a snapshot removed meanwhile. Start fails if
// the snapshot of step 1 is newer than log's last record (the log lost
// records), if a snapshot cannot be read or decoded, or if no step applies.
func Start[S any](log Log, snaps Snapshots, codec Codec[S], initial S, seq uint64) (S, uint64, error) {
	if snaps != nil && codec == nil {
		return initial, 0, errors.New("store: snapshots need a codec")
	}
	var first, last uint64
	if log != nil {
		first, last = log.FirstSeq(), log.LastSeq()
	}
	// continues reports whether log holds every record after at.
	continues := func(at uint64) bool { return log == nil || at+1 >= first || last <= at }
	if snaps != nil {
		at, data, err := snapshotAtOrBefore(snaps, seq)
		if err != nil {
			return initial, 0, err
		}
		if data != nil && continues(at) {
			if log != nil && at > last {
				return initial, 0, fmt.Errorf("store: the snapshot at seq %d is newer than the log's last record %d", at, last)
			}
			return decodeSnapshot(codec, initial, at, data)
		}
	}
	if first <= 1 {
		return initial, 0, nil
	}
	if lister, ok := snaps.(SnapshotLister); ok && seq != Newest {
		seqs, err := lister.SnapshotSeqs()
		if err != nil {
			return initial, 0, fmt.Errorf("store: listing the snapshots: %w", err)
		}
		for _, at := range seqs {
			if at <= seq || !continues(at) || at > last {
				continue
			}
			data, err := lister.ReadSnapshot(at)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return initial, 0, fmt.Errorf("store: reading the snapshot at seq %d: %w", at, err)
			}
			return decodeSnapshot(codec, initial, at, data)
		}
	}
	return initial, 0, fmt.Errorf("store: the log starts at seq %d and no snapshot holds the state before it", first)
}

// snapshotAtOrBefore returns the newest snapshot of snaps at or before seq,
// or nil data if there is none.
func snapshotAtOrBefore(snaps Snapshots, seq uint64) (uint64, []byte, error) {
	lister, ok := snaps.(SnapshotLister)
	if seq == Newest || !ok {
		at, data, err := snaps.LatestSnapshot()
		if err != nil {
			return 0, nil, fmt.Errorf("store: reading the latest snapshot: %w", err)
		}
		if data == nil || at > seq {
			return 0, nil, nil
		}
		return at, data, nil
	}
	seqs, err := lister.SnapshotSeqs()
	if err != nil {
		return 0, nil, fmt.Errorf("store: listing the snapshots: %w", err)
	}
	for _, at := range slices.Backward(seqs) {
		if at > seq {
			continue
		}
		data, err := lister.ReadSnapshot(at)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, nil, fmt.Errorf("store: reading the snapshot at seq %d: %w", at, err)
		}
		return at, data, nil
	}
	return 0, nil, nil
}

func decodeSnapshot[S any](codec Codec[S], initial S, seq uint64, data []byte) (S, uint64, error) {
	state, err := codec.Decode(data)
	if err != nil {
		return initial, 0, fmt.Errorf("store: decoding the snapshot at seq %d: %w", seq, err)
	}
	return state, seq, nil
}

// Fold reads the log's records after seq and folds them into state, which
// must be the state after seq, exactly as the store applies them (an
// action whose reducer panics changes nothing). visit, if not nil, sees
// each Change; an error from it stops the fold. Fold returns the state and
// the seq of the last record folded. It fails if the log has a gap: a
// record other than the next seq.
func Fold[S any](ctx context.Context, log Log, state S, seq uint64, reduce Reducer[S], visit func(Change[S]) error) (S, uint64, error) {
	if first := log.FirstSeq(); first > seq+1 && log.LastSeq() > seq {
		return state, seq, fmt.Errorf("store: the log starts at seq %d; the records after %d are gone", first, seq)
	}
	err := log.Read(ctx, seq+1, func(a *actions.Action) error {
		if a.Seq != seq+1 {
			return fmt.Errorf("store: the log jumps from seq %d to %d", seq, a.Seq)
		}
		next, _ := reduceSafely(reduce, state, a)
		if visit != nil {
			if err := visit(Change[S]{Seq: a.Seq, Action: a, Prev: state, Next: next}); err != nil {
				return err
			}
		}
		state, seq = next, a.Seq
		return nil
	})
	return state, seq, err
}
