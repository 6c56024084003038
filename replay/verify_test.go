package replay_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/replay"
)

// testVerify: the snapshots the server wrote agree with its log, and not
// with a fold under another history; a log cut short is caught.
func testVerify(t *testing.T, st *rpStory, files map[string]string) {
	t.Run("snapshots", func(t *testing.T) {
		t.Parallel()
		snaps := rpSnapshots(t, st.dir)
		// Every 5 actions unless one is being written, at most 3 kept.
		if len(snaps) < 2 || len(snaps) > 3 || snaps[len(snaps)-1] != 28 {
			t.Fatalf("snapshots %v, want 2 or 3, the last at seq 28 (the shutdown)", snaps)
		}
		var want strings.Builder
		for _, s := range snaps {
			fmt.Fprintf(&want, "snapshot %d: equal to the state rebuilt from the log\n", s)
		}
		fmt.Fprintf(&want, "verified %d snapshots\n", len(snaps))
		if got := rpMust(t, st.cfg(replay.Config{Verify: true})); got != want.String() {
			t.Errorf("verify: got\n%s\nwant\n%s", got, want.String())
		}
		// Without the server's history of 4, "hi bob" stays in the window
		// after seq 19: the first snapshot from seq 19 on differs, and the
		// window last changed at seq 19.
		i := slices.IndexFunc(snaps, func(s uint64) bool { return s >= 19 })
		agreed := uint64(0)
		want.Reset()
		for _, s := range snaps[:i] {
			fmt.Fprintf(&want, "snapshot %d: equal to the state rebuilt from the log\n", s)
			agreed = s
		}
		got, err := rpReplay(t, replay.Config{Dir: st.dir, Verify: true}) // history 1000
		wantErr := fmt.Sprintf("snapshot %d differs from the state rebuilt from the log: they agree at seq %d and first differ at seq 19 (a reducer that is not deterministic, or a history other than the server's)", snaps[i], agreed)
		var mismatch *replay.MismatchError
		if !errors.As(err, &mismatch) || err.Error() != wantErr || got != want.String() || *mismatch != (replay.MismatchError{Snapshot: snaps[i], Seq: 19, Agreed: agreed}) {
			t.Errorf("verify, history 1000: error %v\nwant %s\ngot\n%s\nwant\n%s", err, wantErr, got, want.String())
		}
		// A window of 3 differs from seq 18 on ("hi bob" leaves it), which
		// a snapshot after seq 19 cannot show: "hi ann" left the rebuilt
		// window at 19, and the snapshot still holds it.
		i = slices.IndexFunc(snaps, func(s uint64) bool { return s >= 18 })
		wantSeq := uint64(19)
		if snaps[i] == 18 {
			wantSeq = 18 // the snapshot still holds "hi bob"
		}
		_, err = rpReplay(t, replay.Config{Dir: st.dir, History: 3, Verify: true})
		if !errors.As(err, &mismatch) || mismatch.Snapshot != snaps[i] || mismatch.Seq != wantSeq {
			t.Errorf("verify, history 3: error %v, want snapshot %d to differ first at seq %d", err, snaps[i], wantSeq)
		}
	})
	t.Run("log shorter than a snapshot", func(t *testing.T) {
		t.Parallel()
		// A copy of the directory whose log lost its records from seq 28
		// on (a log restored from an older backup, beside newer
		// snapshots): cut in the middle of record 28.
		lost := t.TempDir()
		for name := range files {
			b, err := os.ReadFile(filepath.Join(st.dir, name))
			if err == nil {
				err = os.MkdirAll(filepath.Dir(filepath.Join(lost, name)), 0o755)
			}
			if err == nil {
				err = os.WriteFile(filepath.Join(lost, name), b, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		seg := filepath.Join(lost, "log", fmt.Sprintf("%020d.seg", 1))
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		off := 24 // the segment header; then length, CRC, payload
		for range 27 {
			off += 8 + int(binary.LittleEndian.Uint32(b[off:]))
		}
		if err := os.Truncate(seg, int64(off+5)); err != nil {
			t.Fatal(err)
		}
		out, err := rpReplay(t, replay.Config{Dir: lost, History: 4, Verify: true})
		if err == nil || err.Error() != "snapshot 28: the log ends at seq 27, before the snapshot" {
			t.Errorf("verify: error %v\n%s", err, out)
		}
		// cat's socket closed at 27; her grace had not run out.
		ops := st.seen[28]["ops"]
		ops.users = []actions.User{{ID: "cat-id", Username: "cat"}}
		want := strings.Replace(rpStateText(27, map[string]rpRoom{"ops": ops}, "ops"), "cat (cat-id)", "cat (cat-id) [in grace since seq 27]", 1)
		if got := rpMust(t, replay.Config{Dir: lost, History: 4, Filter: replay.Filter{Room: "ops"}}); got != want {
			t.Errorf("the shortened log: got\n%s\nwant\n%s", got, want)
		}
	})
}
