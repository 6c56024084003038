package store

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/statecast/statecast/actions"
)

// recoveryGCPercent is the GC target while the store recovers.
const recoveryGCPercent = 400

// recoverState rebuilds the state: initial, then the newest snapshot, then
// every later record of the log. It returns the state and its seq.
func recoverState[S any](ctx context.Context, initial S, reduce Reducer[S], opts Options[S]) (S, uint64, error) {
	// Recovery makes a state per action and drops it at once: collecting
	// less often while it runs cuts its time by about a third (BENCHMARKS.md).
	// The process's setting is back when Open returns.
	defer debug.SetGCPercent(debug.SetGCPercent(recoveryGCPercent))
	state, seq := initial, uint64(0)
	if opts.Snapshots != nil {
		snapSeq, data, err := opts.Snapshots.LatestSnapshot()
		if err != nil {
			return state, 0, fmt.Errorf("store: reading the latest snapshot: %w", err)
		}
		if data != nil {
			if state, err = opts.Codec.Decode(data); err != nil {
				return initial, 0, fmt.Errorf("store: decoding the snapshot at seq %d: %w", snapSeq, err)
			}
			seq = snapSeq
		}
	}
	if opts.Log == nil {
		return state, seq, nil
	}
	if last := opts.Log.LastSeq(); seq > last {
		return initial, 0, fmt.Errorf("store: the snapshot at seq %d is newer than the log's last record %d", seq, last)
	}
	state, seq, err := Fold(ctx, opts.Log, state, seq, reduce, nil)
	return state, seq, err
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
