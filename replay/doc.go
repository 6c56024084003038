// Package replay rebuilds a statecast chat state from its action log, to
// show how it got where it is: the state after any seq or time, the
// actions that led there with the change each made, and whether the
// snapshots agree with the log. `statecast replay` is a thin command over
// it; a program built on package server, with middleware of its own, can
// replay its log the same way:
//
//	l, err := replay.OpenDir(cfg.Data, replay.Options{History: cfg.History})
//	...
//	defer l.Close()
//	state, seq, err := l.Fold(ctx, replay.Until{Seq: 1200}, func(s *replay.Step) error {
//		if (replay.Filter{Room: "chat"}).Selects(s) {
//			fmt.Println(s.Action.Seq, s.Action.Type, s.Diffs())
//		}
//		return nil
//	})
//
// # Reading
//
// OpenDir opens a data directory's file log (store/file) read-only: it
// never writes, so it is safe next to the running server that holds the
// directory, and it sees the log as it was when opened (LastSeq). OpenStream
// opens a cluster's JetStream stream (store/nats) the same way, and never
// creates it. Replay needs the server's History (Options): the window of
// messages is part of the state.
//
// # Where a fold starts
//
// Every fold starts from the state store.Start chooses for seq 0 (the same
// code that chooses the snapshot a store recovers from): the empty state at
// seq 0 while the log holds every record from seq 1; on a log pruned by the
// server, the oldest snapshot the log continues. A stream keeps no
// snapshots: one whose first records were removed is folded from the empty
// state at the seq before its first record, which lacks what the removed
// actions did (Log.Note says so). A limit before the start is a LimitError.
//
// # Folding
//
// Log.Fold applies the log's actions up to a seq or a time (Until), exactly
// as the store applied them, and gives each to a visit function as a Step:
// the action, its Outcome as the store computed it (chat.OutcomeOf: the id
// a connect got, whether the action changed anything), the states before
// and after, and the room diffs of chat.Diffs. Filter selects steps by
// room, type and user. Printer writes states and steps as the command
// prints them, as text or JSON lines; Run does all the command does, given
// a Config (the command only turns its flags into one).
//
// # Verifying
//
// Log.Verify folds the log and compares the state with each snapshot of the
// data directory. Folds are pure, so a snapshot that differs means a
// reducer that is not deterministic, a History other than the server's,
// or a damaged snapshot or log. The *MismatchError then names the first
// seq at which the rebuilt state provably differs from the server's:
//
// The state is cut into parts: per room, its existence, each message of
// its window (by seq), its clientId window, each user of its user list and
// each socket; and each user id's binding. Every action may change only
// some parts, known from the action alone (a write: its room's window; a
// close: its socket and the room's user list; a server/start or node/down:
// everything). A part that no action after seq k up to the snapshot can
// change was, in the server's state after k, as the snapshot shows it. So
// if the state rebuilt from the log has it otherwise after k, the two
// differed after k. The first seq is the least such k: for a part that
// differs, the last action up to the snapshot that may have changed it;
// for a message the snapshot holds, its seq if the rebuilt state has it
// otherwise or never had it, or the seq that dropped it from the rebuilt
// window; for a message only the rebuilt state holds, the last write in
// its room. It is never before the last snapshot that agreed (Agreed).
// The server's state may have differed earlier in a part a later action
// overwrote before the snapshot was taken: that left no trace to find.
package replay
