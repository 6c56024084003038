package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// replayConfig is everything `statecast replay` can be told.
type replayConfig struct {
	data      string
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
it, or the actions that led to it. It opens the directory read-only, so it is
safe to run against a live server's data (it sees the log as it was when it
started).

  statecast replay                        the state after the last action
  statecast replay -until 1200 -room chat the room as it was after seq 1200
  statecast replay -diff -user 17         what each of user 17's actions changed
  statecast replay -type message/write -format json | jq .payload.Message
  statecast replay -verify                rebuild from the log alone and compare with every snapshot

flags:`

func parseReplay(args, env []string) (replayConfig, error) {
	var c replayConfig
	var until, untilTime string
	fs := flag.NewFlagSet("statecast replay", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), replayUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.data, "data", "./data", "the server's data `directory` (STATECAST_DATA)")
	fs.IntVar(&c.history, "history", chat.DefaultHistory, "messages retained per room; must match the server's -history (STATECAST_HISTORY)")
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

// replay runs `statecast replay`, writing to out.
func replay(ctx context.Context, args, env []string, out io.Writer) error {
	c, err := parseReplay(args, env)
	if err != nil {
		return err
	}
	if _, err := os.Stat(c.data); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	log, err := file.Open(c.data, file.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer log.Close()
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()
	reduce := chat.NewReducer(chat.Options{History: c.history})
	if c.verify {
		return verify(ctx, log, reduce, w)
	}
	p := newPrinter(w, c)
	bar := newProgress(c.progress, log.LastSeq())
	defer bar.done()
	listing := c.diff || c.typ != "" || c.user != ""
	state, seq, err := store.Fold(ctx, log, chat.State{}, 0, reduce, func(ch store.Change[chat.State]) error {
		a := ch.Action
		if c.untilSeq != 0 && a.Seq > c.untilSeq || !c.untilTime.IsZero() && a.At.After(c.untilTime) {
			return errStop
		}
		bar.update(a.Seq)
		if listing && c.selects(a) {
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
	return p.state(state, seq)
}

// selects reports whether an action passes the -room, -type and -user filters.
func (c replayConfig) selects(a *actions.Action) bool {
	return (c.room == "" || a.Room == c.room) && (c.typ == "" || a.Type == c.typ) && (c.user == "" || a.User == c.user)
}

// verify folds the whole log and compares the state with every snapshot.
func verify(ctx context.Context, log *file.Log, reduce store.Reducer[chat.State], w io.Writer) error {
	seqs, err := log.SnapshotSeqs()
	if err != nil {
		return err
	}
	if len(seqs) == 0 {
		fmt.Fprintln(w, "no snapshots to verify against")
		return nil
	}
	var codec chat.Codec
	state, seq, checked, agreed := chat.State{}, uint64(0), 0, uint64(0)
	for _, snapSeq := range seqs {
		if snapSeq < log.FirstSeq() {
			fmt.Fprintf(w, "snapshot %d: skipped, the log no longer holds the records before it\n", snapSeq)
			continue
		}
		state, seq, err = store.Fold(ctx, log, state, seq, reduce, func(ch store.Change[chat.State]) error {
			if ch.Seq > snapSeq {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		if seq != snapSeq {
			return fmt.Errorf("snapshot %d: the log ends at seq %d", snapSeq, seq)
		}
		data, err := log.ReadSnapshot(snapSeq)
		if err != nil {
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
	fmt.Fprintf(w, "verified %d snapshots\n", checked)
	return nil
}
