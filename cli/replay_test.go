package cli

// The flags of `statecast replay`; what it prints is tested in package
// replay.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

func TestReplayFlags(t *testing.T) {
	t.Parallel()
	dir := rpPrunedLog(t)
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"until not a number", []string{"-until", "abc"}, nil, `-until "abc": want a seq (a positive integer)`},
		{"until zero", []string{"-until", "0"}, nil, `-until "0": want a seq (a positive integer)`},
		{"until-time not a time", []string{"-until-time", "yesterday"}, nil, `-until-time "yesterday": want RFC 3339, like 2026-11-25T18:00:00Z`},
		{"format xml", []string{"-format", "xml"}, nil, `-format "xml": want text or json`},
		{"progress", []string{"-progress", "sometimes"}, nil, `-progress "sometimes": want auto, on or off`},
		{"history", []string{"-history", "0"}, nil, `-history must be at least 1`},
		{"extra argument", []string{"chat"}, nil, `unexpected arguments: [chat]`},
		{"unknown flag", []string{"-bogus"}, nil, `flag provided but not defined: -bogus`},
		{"bad environment", nil, []string{"STATECAST_HISTORY=many"}, `STATECAST_HISTORY: parse error`},
		{"missing data directory", []string{"-data", missing}, nil, "data directory: stat " + missing + ": no such file or directory"},
		{"missing data directory, from the environment", nil, []string{"STATECAST_DATA=" + missing}, "data directory: stat " + missing + ": no such file or directory"},
		// A limit before what a pruned log holds is named by its flag.
		{"until before a pruned log", []string{"-data", dir, "-until", "2"}, nil, "-until 2: the log before seq 11 was pruned; the oldest state replay can rebuild is after seq 10"},
		{"until-time before a pruned log", []string{"-until-time", "2026-11-25T18:00:00Z"}, []string{"STATECAST_DATA=" + dir}, "-until-time 2026-11-25T18:00:00Z: the log before seq 11 was pruned; the oldest state replay can rebuild is after seq 10, and it may be later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := replayTo(context.Background(), tc.args, tc.env, &out, &errOut)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if out.Len() > 0 {
				t.Errorf("standard output %q", out.String())
			}
			// The flag package explains its own errors with the usage, on
			// standard error; main prints the error after it. A pruned log
			// gets a note.
			usage := strings.Contains(errOut.String(), "usage: statecast replay")
			note := strings.HasPrefix(errOut.String(), "statecast replay: the log before seq 11 was pruned")
			if usage != (tc.name == "unknown flag") || note != strings.Contains(tc.name, "pruned") {
				t.Errorf("standard error %q", errOut.String())
			}
		})
	}
	t.Run("flags and environment", func(t *testing.T) {
		t.Parallel()
		var byFlags, byEnv bytes.Buffer
		if err := replayTo(context.Background(), []string{"-data", dir, "-history", "2", "-room", "chat", "-format", "json", "-until", "12"}, nil, &byFlags, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if err := replayTo(context.Background(), []string{"-room", "chat", "-format", "json", "-until", "12"}, []string{"STATECAST_DATA=" + dir, "STATECAST_HISTORY=2"}, &byEnv, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		want := `{"seq":12,"room":"chat","users":[{"user":{"id":"u1","username":"ann"},"entered":2,"sockets":1}],"sockets":1,"messages":[`
		if !strings.HasPrefix(byFlags.String(), want) || strings.Count(byFlags.String(), `"seq":1`) != 3 || byEnv.String() != byFlags.String() {
			t.Errorf("flags:\n%s\nenvironment:\n%s\nwant the room after seq 12 with messages 11 and 12", byFlags.String(), byEnv.String())
		}
	})
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		var errOut bytes.Buffer
		if err := replayTo(context.Background(), []string{"-h"}, nil, &bytes.Buffer{}, &errOut); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "-until-time time") {
			t.Fatalf("-h: %v\n%s", err, errOut.String())
		}
	})
	t.Run("through Run", func(t *testing.T) {
		t.Parallel()
		if err := Run(context.Background(), []string{"replay", "-data", missing}, nil); err == nil || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("statecast replay -data %s: %v", missing, err)
		}
	})
}

// rpPrunedLog writes a log of 20 actions in room chat, a snapshot at seq
// 10 and the segments before it removed, and returns its directory.
func rpPrunedLog(t *testing.T) string {
	t.Helper()
	dir, ctx := t.TempDir(), context.Background()
	flog, err := file.Open(dir, file.Options{SegmentSize: 200, Prune: true, Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, chat.State{}, chat.NewReducer(chat.Options{History: 2}), store.Options[chat.State]{Log: flog})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	for i := range 20 {
		a := &actions.Action{Type: actions.TypeWriteMessage, Room: "chat", Session: "s1", User: "u1", At: at.Add(time.Duration(i) * time.Second), Payload: actions.WriteMessage{Message: fmt.Sprint("m", i+1)}}
		switch i {
		case 0:
			a.Type, a.User, a.Payload = actions.TypeOpenSession, "", nil
		case 1:
			a.Type, a.Payload = actions.TypeConnect, actions.Connect{Username: "ann"}
		}
		if err := st.Dispatch(ctx, a); err != nil {
			t.Fatal(err)
		}
		if st.Seq() == 10 {
			data, _ := chat.Codec{}.Encode(st.GetState())
			if err := flog.SaveSnapshot(10, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}
