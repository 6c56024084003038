package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	storenats "github.com/statecast/statecast/store/nats"
)

// replayConfig is everything `statecast replay` can be told.
type replayConfig struct {
	data      string
	nats      string // the NATS servers of a cluster; "" reads -data
	stream    string
	history   int
	untilSeq  uint64
	untilTime time.Time
	room      string
	typ       string
	user      string
	diff      bool
	format    string
	verify    bool
	progress  string
}

const replayUsage = `usage: statecast replay [flags]

Rebuilds the chat state from the action log in the data directory and prints
it, or the actions that led to it: with -diff, -type or -user it lists the
selected actions (up to -until or -until-time) instead of the state. It opens
the directory read-only, so it is safe to run against a live server's data
(it sees the log as it was when it started). With -nats it reads a cluster's
log, the JetStream stream -nats-stream, the same way: it only reads (it never
creates the stream), and sees the stream as it was when it started.

  statecast replay                        the state after the last action
  statecast replay -until 1200 -room chat the room as it was after seq 1200
  statecast replay -diff -user 17         what each of user 17's actions changed
  statecast replay -type message/write -format json | jq .payload.Message
  statecast replay -verify                rebuild from the log alone and compare with every snapshot
  statecast replay -nats nats://10.0.0.1:4222,nats://10.0.0.2:4222 -diff -room chat
                                          what changed in room chat, read from a cluster's stream

flags:`

func parseReplay(args, env []string, errOut io.Writer) (replayConfig, error) {
	var c replayConfig
	var until, untilTime string
	fs := flag.NewFlagSet("statecast replay", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), replayUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.data, "data", "./data", "the server's data `directory` (STATECAST_DATA)")
	fs.StringVar(&c.nats, "nats", "", "read the log of a cluster instead of -data: the NATS servers, comma-separated `URLs`, as serve's -nats (STATECAST_NATS)")
	fs.StringVar(&c.stream, "nats-stream", storenats.DefaultStream, "with -nats, the JetStream stream of the action log (STATECAST_NATS_STREAM)")
	fs.IntVar(&c.history, "history", chat.DefaultHistory, "messages retained per room; must match the servers' -history (STATECAST_HISTORY)")
	fs.StringVar(&until, "until", "", "stop after this `seq`")
	fs.StringVar(&untilTime, "until-time", "", "stop before the first action after this `time` (RFC 3339)")
	fs.StringVar(&c.room, "room", "", "show only this room")
	fs.StringVar(&c.typ, "type", "", "list the actions of this `type` (for example message/write)")
	fs.StringVar(&c.user, "user", "", "list the actions of this user `id`")
	fs.BoolVar(&c.diff, "diff", false, "list each selected action with the change it made")
	fs.StringVar(&c.format, "format", "text", "output format: text, or json (one object per line)")
	fs.BoolVar(&c.verify, "verify", false, "rebuild the state from the log alone and compare it with every snapshot")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar on standard error: auto (on a terminal), on, off")
	if err := applyEnv(fs, env); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if until != "" {
		if c.untilSeq, err = strconv.ParseUint(until, 10, 64); err != nil || c.untilSeq == 0 {
			return c, fmt.Errorf("-until %q: want a seq (a positive integer)", until)
		}
	}
	if untilTime != "" {
		if c.untilTime, err = time.Parse(time.RFC3339Nano, untilTime); err != nil {
			return c, fmt.Errorf("-until-time %q: want RFC 3339, like 2026-11-25T18:00:00Z", untilTime)
		}
	}
	switch {
	case c.format != "text" && c.format != "json":
		return c, fmt.Errorf("-format %q: want text or json", c.format)
	case c.progress != "auto" && c.progress != "on" && c.progress != "off":
		return c, fmt.Errorf("-progress %q: want auto, on or off", c.progress)
	case c.history < 1:
		return c, fmt.Errorf("-history must be at least 1")
	}
	return c, nil
}

// errStop ends a fold early without being an error.
var errStop = errors.New("stop")

// replay runs `statecast replay`, writing to out; the progress bar and
// flag errors go to standard error.
func replay(ctx context.Context, args, env []string, out io.Writer) error {
	return replayTo(ctx, args, env, out, os.Stderr)
}

// replayTo is replay with standard error given as errOut.
func replayTo(ctx context.Context, args, env []string, out, errOut io.Writer) (err error) {
	// A replay makes a state per action and drops it at once: collecting
	// less often makes it about a third faster (BENCHMARKS.md).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	c, err := parseReplay(args, env, errOut)
	if err != nil {
		return err
	}
	src, err := openSource(ctx, c)
	if err != nil {
		return err
	}
	defer src.log.Close()
	w := bufio.NewWriterSize(out, 64<<10)
	defer func() {
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}()
	reduce := chat.NewReducer(chat.Options{History: c.history})
	listing := c.diff || c.typ != "" || c.user != ""
	total := src.last
	if c.untilSeq != 0 && !c.verify {
		total = min(total, c.untilSeq)
	}
	bar := newProgress(c.progress, total, errOut, listing && isTerminal(out))
	defer bar.done()
	state, from := src.state, src.from
	if src.note != "" {
		fmt.Fprintln(errOut, "statecast replay: "+src.note)
	}
	if c.verify {
		if src.file == nil {
			fmt.Fprintln(w, "no snapshots to verify against")
			return nil
		}
		return verify(ctx, c.data, src.file, state, from, reduce, w, bar)
	}
	if c.untilSeq != 0 && (c.untilSeq < from || c.untilSeq == from && !src.exact) {
		return fmt.Errorf("-until %d: %s", c.untilSeq, src.gone)
	}
	p := newPrinter(w, c)
	state, seq, err := store.Fold(ctx, src.log, state, from, reduce, func(ch store.Change[chat.State]) error {
		a := ch.Action
		if a.Seq > src.last || c.untilSeq != 0 && a.Seq > c.untilSeq || !c.untilTime.IsZero() && a.At.After(c.untilTime) {
			if from > 0 && a.Seq == from+1 && c.untilSeq == 0 && a.Seq <= src.last {
				gone := src.gone
				if src.exact {
					gone += ", and it may be later"
				}
				return fmt.Errorf("-until-time %s: %s", c.untilTime.Format(time.RFC3339Nano), gone)
			}
			return errStop
		}
		bar.update(a.Seq)
		if listing && c.selects(ch) {
			return p.action(ch)
		}
		return nil
	})
	// errStop: Fold stopped before the first action past the limit, so
	// state and seq are those after the last action within it.
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	bar.done()
	if listing {
		return nil
	}
	return p.state(state, seq)
}

// source is the log replay reads and the state it starts from.
type source struct {
	log  store.Log
	file *file.Log // the same log, when it is the file log of -data
	// last is the log's last seq when replay opened it: replay reads up to
	// it, so that a log still written to gives the same output throughout.
	last uint64
	// state is the state after seq from, where the fold starts: the empty
	// state at 0, or, when the log's first records are gone, a snapshot
	// (exact) or, on a stream, the empty state (not exact: it lacks what
	// the removed records did).
	state chat.State
	from  uint64
	exact bool
	// note, if any, says on standard error why replay starts after seq 0.
	note string
	// gone explains, in errors, why replay cannot show a state before from.
	gone string
}

// openSource opens the log that c names: the file log of c.data,
// read-only, or with c.nats the stream c.stream, without creating it.
func openSource(ctx context.Context, c replayConfig) (*source, error) {
	if c.nats != "" {
		return openStream(ctx, c)
	}
	if fi, err := os.Stat(c.data); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", c.data)
	}
	if _, err := os.Stat(filepath.Join(c.data, "log")); err != nil {
		return nil, fmt.Errorf("data directory %s holds no action log (%w); is it the server's -data?", c.data, err)
	}
	log, err := file.Open(c.data, file.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	src := &source{log: log, file: log, last: log.LastSeq(), exact: true}
	if src.state, src.from, err = startState(log); err != nil {
		log.Close()
		return nil, err
	}
	if src.from > 0 {
		src.note = fmt.Sprintf("the log before seq %d was pruned; starting from the snapshot at seq %d", src.from+1, src.from)
		src.gone = fmt.Sprintf("the log before seq %d was pruned; the oldest state replay can rebuild is after seq %d", src.from+1, src.from)
	}
	return src, nil
}

// openStream opens the JetStream stream of c for reading. A stream keeps
// no snapshots: replay starts from its first record, seq 1 unless records
// were removed (by limits set on the stream), which it says.
func openStream(ctx context.Context, c replayConfig) (*source, error) {
	log, err := storenats.Open(ctx, storenats.Options{URLs: c.nats, Stream: c.stream, NoCreate: true, Name: "statecast replay"})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("stream %s not found on %s: no action log to replay (replay never creates a stream; is -nats-stream the servers' stream?)", c.stream, c.nats)
	}
	if err != nil {
		return nil, err
	}
	src := &source{log: log, last: log.LastSeq(), exact: true}
	if first := log.FirstSeq(); src.last > 0 && first > 1 {
		src.from, src.exact = first-1, false
		src.note = fmt.Sprintf("stream %s holds no records before seq %d: they were removed, and a stream has no snapshots; replaying from seq %d on an empty state, which lacks whatever the removed actions did", c.stream, first, first)
		src.gone = fmt.Sprintf("stream %s holds no records before seq %d (they were removed) and no snapshots: replay cannot rebuild the state before them", c.stream, first)
	}
	return src, nil
}

// startState returns the state replay folds the log into: the empty state
// at seq 0, or, if the server pruned the log (-prune), the oldest snapshot
// that the log continues.
func startState(log *file.Log) (chat.State, uint64, error) {
	first := log.FirstSeq()
	if first <= 1 {
		return chat.State{}, 0, nil
	}
	seqs, err := log.SnapshotSeqs()
	if err != nil {
		return chat.State{}, 0, err
	}
	for _, seq := range seqs {
		if seq+1 < first {
			continue
		}
		data, err := log.ReadSnapshot(seq)
		if err != nil {
			return chat.State{}, 0, err
		}
		state, err := chat.Codec{}.Decode(data)
		if err != nil {
			return chat.State{}, 0, fmt.Errorf("snapshot %d: %w", seq, err)
		}
		return state, seq, nil
	}
	return chat.State{}, 0, fmt.Errorf("the log starts at seq %d and no snapshot holds the state before it", first)
}

// selects reports whether an action passes the -room, -type and -user
// filters. A connect is the user's both under the id it claimed and under
// the id the socket got. An action of every room (server/start, node/down)
// is in a room when it changed something visible there.
func (c replayConfig) selects(ch store.Change[chat.State]) bool {
	a := ch.Action
	return (c.typ == "" || a.Type == c.typ) &&
		(c.user == "" || a.User == c.user || granted(ch) == c.user) &&
		(c.room == "" || a.Room == c.room || everyRoom(a) && affects(ch, c.room))
}

// granted returns the id the state gave the socket of a connect: the id it
// claimed (Action.User) unless the claim was refused (see actions.Connect).
// For other actions it returns "".
func granted(ch store.Change[chat.State]) string {
	a := ch.Action
	if a.Type != actions.TypeConnect {
		return ""
	}
	r := ch.Next.Room(a.Room)
	if r == nil {
		return ""
	}
	s, _ := r.Session(a.Session)
	return s.UserID
}

// verify folds the log from state, the state after seq from, and compares
// the state with every later snapshot. On a live server's directory,
// snapshots may appear after the log was opened, or be removed by the
// server before they are read: those are skipped, and said so.
func verify(ctx context.Context, dir string, log *file.Log, state chat.State, from uint64, reduce store.Reducer[chat.State], w io.Writer, bar *progress) error {
	seqs, err := log.SnapshotSeqs()
	if err != nil {
		return err
	}
	if len(seqs) == 0 {
		fmt.Fprintln(w, "no snapshots to verify against")
		return nil
	}
	var codec chat.Codec
	seq, checked, agreed, laterLast := from, 0, from, uint64(0)
	for _, snapSeq := range seqs {
		switch {
		case snapSeq < from:
			fmt.Fprintf(w, "snapshot %d: skipped, the log no longer holds the records after it\n", snapSeq)
			continue
		case snapSeq == from:
			fmt.Fprintf(w, "snapshot %d: the starting point, the log before it was pruned\n", snapSeq)
			continue
		case snapSeq > log.LastSeq():
			// Written after Open read the log, or the log lost records?
			if laterLast == 0 {
				laterLast = lastSeqNow(dir)
			}
			if laterLast < snapSeq {
				return fmt.Errorf("snapshot %d: the log ends at seq %d, before the snapshot", snapSeq, log.LastSeq())
			}
			fmt.Fprintf(w, "snapshot %d: skipped, written after replay read the log\n", snapSeq)
			continue
		}
		data, err := log.ReadSnapshot(snapSeq)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(w, "snapshot %d: skipped, removed by the server while replay ran\n", snapSeq)
			continue
		}
		if err != nil {
			return err
		}
		state, seq, err = store.Fold(ctx, log, state, seq, reduce, func(ch store.Change[chat.State]) error {
			if ch.Seq > snapSeq {
				return errStop
			}
			bar.update(ch.Seq)
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		rebuilt, _ := codec.Encode(state)
		snap, err := codec.Decode(data)
		if err != nil {
			return fmt.Errorf("snapshot %d: %w", snapSeq, err)
		}
		stored, _ := codec.Encode(snap)
		if !bytes.Equal(rebuilt, stored) {
			return fmt.Errorf("snapshot %d differs from the state rebuilt from the log: they agree at seq %d and first differ after it, at or before seq %d (a reducer that is not deterministic, or a -history other than the server's)", snapSeq, agreed, snapSeq)
		}
		checked, agreed = checked+1, snapSeq
		fmt.Fprintf(w, "snapshot %d: equal to the state rebuilt from the log\n", snapSeq)
	}
	bar.done()
	fmt.Fprintf(w, "verified %d snapshots\n", checked)
	return nil
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
