package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	storenats "github.com/statecast/statecast/store/nats"
)

// Options configure the reducer a Log folds with.
type Options struct {
	// History is how many messages each room retains; it must be the
	// server's (server.Config.History). Defaults to chat.DefaultHistory.
	History int
}

// Log is an action log opened for replay, read-only. Replay reads it up
// to LastSeq, its last record when it was opened, so that a log still
// written to gives the same answers throughout. Its methods are not safe
// for concurrent use.
type Log struct {
	log    store.Log
	file   *file.Log // the same log, when it is a data directory's
	dir    string
	reduce store.Reducer[chat.State]
	last   uint64
	// start is the state after seq from, where every fold begins (see
	// store.Start); exact is false when it lacks what removed records did.
	start chat.State
	from  uint64
	exact bool
	note  string
	gone  string
}

// OpenDir opens the action log of the data directory dir (a server's
// Config.Data), read-only: safe next to the running server that holds it.
func OpenDir(dir string, opts Options) (*Log, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "log")); err != nil {
		return nil, fmt.Errorf("data directory %s holds no action log (%w); is it the server's -data?", dir, err)
	}
	flog, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	l := newLog(flog, opts)
	l.file, l.dir = flog, dir
	if l.start, l.from, err = store.Start[chat.State](flog, flog, chat.Codec{}, chat.State{}, 0); err != nil {
		flog.Close()
		return nil, err
	}
	if l.from > 0 {
		l.note = fmt.Sprintf("the log before seq %d was pruned; starting from the snapshot at seq %d", l.from+1, l.from)
		l.gone = fmt.Sprintf("the log before seq %d was pruned; the oldest state replay can rebuild is after seq %d", l.from+1, l.from)
	}
	return l, nil
}

// OpenStream opens the JetStream stream of a cluster's action log on the
// NATS servers urls (comma-separated), read-only: it never creates the
// stream. A stream keeps no snapshots: a fold starts at its first record,
// seq 1 unless records were removed (by limits set on the stream); then
// it starts on the empty state, which lacks what they did (Note says so).
// An empty stream is storenats.DefaultStream.
func OpenStream(ctx context.Context, urls, stream string, opts Options) (*Log, error) {
	if stream == "" {
		stream = storenats.DefaultStream
	}
	slog, err := storenats.Open(ctx, storenats.Options{URLs: urls, Stream: stream, NoCreate: true, Name: "statecast replay"})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("stream %s not found on %s: no action log to replay (replay never creates a stream; is -nats-stream the servers' stream?)", stream, urls)
	}
	if err != nil {
		return nil, err
	}
	l := newLog(slog, opts)
	if first := slog.FirstSeq(); l.last > 0 && first > 1 {
		l.from, l.exact = first-1, false
		l.note = fmt.Sprintf("stream %s holds no records before seq %d: they were removed, and a stream has no snapshots; replaying from seq %d on an empty state, which lacks whatever the removed actions did", stream, first, first)
		l.gone = fmt.Sprintf("stream %s holds no records before seq %d (they were removed) and no snapshots: replay cannot rebuild the state before them", stream, first)
	}
	return l, nil
}

func newLog(log store.Log, opts Options) *Log {
	return &Log{log: log, reduce: chat.NewReducer(chat.Options{History: opts.History}), last: log.LastSeq(), exact: true}
}

// LastSeq returns the seq of the log's last record when it was opened.
func (l *Log) LastSeq() uint64 { return l.last }

// Start returns the seq where every fold begins: 0, or the seq of the
// snapshot a pruned log continues, or the seq before a stream's first
// record. exact is false in that last case: the state it starts from lacks
// what the removed records did.
func (l *Log) Start() (seq uint64, exact bool) { return l.from, l.exact }

// Note says why folds begin after seq 0, or is "".
func (l *Log) Note() string { return l.note }

// Close releases the log.
func (l *Log) Close() error { return l.log.Close() }
