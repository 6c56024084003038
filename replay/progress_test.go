package replay_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statecast/statecast/replay"
)

// testProgress: the bar goes to standard error only, drawn when asked.
func testProgress(t *testing.T, st *rpStory) {
	t.Parallel()
	until := replay.Until{Seq: 19}
	plain := rpMust(t, st.cfg(replay.Config{Until: until}))
	for _, mode := range []string{"auto", "off", "on"} {
		var out, errOut bytes.Buffer
		if err := replay.Run(context.Background(), st.cfg(replay.Config{Until: until, Progress: mode}), &out, &errOut); err != nil {
			t.Fatal(err)
		}
		if out.String() != plain {
			t.Errorf("progress %s changed standard output:\n%s", mode, out.String())
		}
		// on: drawn at the first action (2 of 40 marks for 1/19), erased
		// at the end; otherwise nothing, not a terminal.
		want := ""
		if mode == "on" {
			want = "\r[##" + strings.Repeat(".", 38) + "] 1/19\r\033[K"
		}
		if errOut.String() != want {
			t.Errorf("progress %s: standard error %q, want %q", mode, errOut.String(), want)
		}
	}
	var errOut bytes.Buffer
	if err := replay.Run(context.Background(), st.cfg(replay.Config{Verify: true, Progress: "on"}), &bytes.Buffer{}, &errOut); err != nil || !strings.HasPrefix(errOut.String(), "\r[") || !strings.HasSuffix(errOut.String(), "] 1/36\r\033[K") {
		t.Errorf("verify, progress on: %v, standard error %q", err, errOut.String())
	}
}

// Progress auto draws the bar only for a long log, on a terminal, and not
// when the listing goes to the same terminal.
func TestProgressAuto(t *testing.T) {
	t.Parallel()
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	regular, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	var tty *os.File
	if f, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil { // the master side of a new pseudo-terminal
		defer f.Close()
		tty = f
	}
	for _, tc := range []struct {
		name    string
		mode    string
		total   uint64
		w       *os.File
		listing bool
		want    bool
	}{
		{"pipe", "auto", replay.ProgressAuto, pipeW, false, false},
		{"file", "auto", replay.ProgressAuto, regular, false, false},
		{"terminal", "auto", replay.ProgressAuto, tty, false, true},
		{"terminal, short log", "auto", replay.ProgressAuto - 1, tty, false, false},
		{"terminal, listing to it", "auto", replay.ProgressAuto, tty, true, false},
		{"terminal, off", "off", replay.ProgressAuto, tty, false, false},
		{"pipe, on", "on", 1, pipeW, true, true},
	} {
		if tc.w == nil {
			t.Logf("%s: no pseudo-terminal here", tc.name)
			continue
		}
		if got := replay.NewProgress(tc.mode, tc.total, tc.w, tc.listing).Drawn(); got != tc.want {
			t.Errorf("%s: bar %v, want %v", tc.name, got, tc.want)
		}
	}
}
