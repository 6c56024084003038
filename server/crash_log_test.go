package server_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// replayedMessage is one message the log's replay appended to a room.
type replayedMessage struct {
	Room string
	actions.Message
}

// logHistory folds the log in dir with a room window of history messages
// and returns every message it ever appended to a room's window, in seq
// order: the full history, which the server's window only shows the end
// of.
func logHistory(t *testing.T, dir string, history int) []replayedMessage {
	t.Helper()
	l, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var msgs []replayedMessage
	reduce := chat.NewReducer(chat.Options{History: history})
	_, _, err = store.Fold(context.Background(), l, chat.State{}, 0, reduce, func(ch store.Change[chat.State]) error {
		if a := ch.Action; a.Type == actions.TypeWriteMessage {
			for _, m := range chat.Diff(ch.Prev, ch.Next, a).Appended {
				msgs = append(msgs, replayedMessage{Room: a.Room, Message: m})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("folding the log: %v", err)
	}
	return msgs
}

// errSnapshotReached ends a fold after a snapshot's seq.
var errSnapshotReached = errors.New("snapshot reached")

// verifySnapshots folds the log in dir from the start and fails unless the
// state equals every snapshot at its seq; it returns how many it compared.
func verifySnapshots(t *testing.T, dir string, history int) int {
	t.Helper()
	l, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seqs, err := l.SnapshotSeqs()
	if err != nil {
		t.Fatal(err)
	}
	var (
		codec chat.Codec
		state chat.State
		seq   uint64
	)
	reduce := chat.NewReducer(chat.Options{History: history})
	for _, snapSeq := range seqs {
		if snapSeq < seq {
			t.Fatalf("snapshot seqs %v are not in order", seqs)
		}
		if snapSeq > seq {
			state, seq, err = store.Fold(context.Background(), l, state, seq, reduce, func(ch store.Change[chat.State]) error {
				if ch.Seq > snapSeq {
					return errSnapshotReached
				}
				return nil
			})
			if err != nil && !errors.Is(err, errSnapshotReached) {
				t.Fatalf("folding the log to snapshot %d: ended at seq %d: %v", snapSeq, seq, err)
			}
		}
		data, err := l.ReadSnapshot(snapSeq)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := codec.Decode(data)
		if err != nil {
			t.Fatalf("snapshot %d: %v", snapSeq, err)
		}
		rebuilt, _ := codec.Encode(state)
		stored, _ := codec.Encode(snap)
		if seq != snapSeq || !bytes.Equal(rebuilt, stored) {
			t.Fatalf("snapshot %d differs from the state rebuilt from the log (at seq %d)", snapSeq, seq)
		}
	}
	return len(seqs)
}
