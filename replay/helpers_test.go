package replay_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store/file"
)

// rpRun runs replay.Run with c (named as the command names itself) and
// returns its standard output and error.
func rpRun(c replay.Config) (out, errOut string, err error) {
	var o, e bytes.Buffer
	if c.Name == "" {
		c.Name = "statecast replay"
	}
	err = replay.Run(context.Background(), c, &o, &e)
	return o.String(), e.String(), err
}

// rpReplay runs replay with c and returns its standard output. Under
// progress auto (the default) nothing may reach standard error, which is
// not a terminal here.
func rpReplay(t *testing.T, c replay.Config) (string, error) {
	t.Helper()
	out, errOut, err := rpRun(c)
	if errOut != "" {
		t.Errorf("replay %+v wrote to standard error: %q", c, errOut)
	}
	return out, err
}

// rpMust is rpReplay that must succeed.
func rpMust(t *testing.T, c replay.Config) string {
	t.Helper()
	out, err := rpReplay(t, c)
	if err != nil {
		t.Fatalf("replay %+v: %v", c, err)
	}
	return out
}

// rpWaitSeq waits until the log in dir holds seq.
func rpWaitSeq(t *testing.T, dir string, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := file.Open(dir, file.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		last := l.LastSeq()
		l.Close()
		if last >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log reached seq %d, want %d within 5s", last, seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rpReadLog returns every action in dir's log, read with store/file.
func rpReadLog(t *testing.T, dir string) []*actions.Action {
	t.Helper()
	l, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var all []*actions.Action
	err = l.Read(context.Background(), 1, func(a *actions.Action) error {
		c := *a
		all = append(all, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// rpSnapshots returns the seqs of the snapshots in dir.
func rpSnapshots(t *testing.T, dir string) []uint64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, n := range names {
		var seq uint64
		if _, err := fmt.Sscanf(filepath.Base(n), "%020d.snap", &seq); err != nil {
			t.Fatalf("snapshot name %s: %v", n, err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// rpRoomJSON is the JSON form of one room of replay's state.
type rpRoomJSON struct {
	Seq   uint64 `json:"seq"`
	Room  string `json:"room"`
	Users []struct {
		User    actions.User `json:"user"`
		Entered uint64       `json:"entered"`
		Sockets int          `json:"sockets"`
		LeftAt  uint64       `json:"leftAt"`
	} `json:"users"`
	Sockets  int               `json:"sockets"`
	Messages []actions.Message `json:"messages"`
}

// users returns the user list of r.
func (r rpRoomJSON) users() []actions.User {
	var u []actions.User
	for _, p := range r.Users {
		u = append(u, p.User)
	}
	return u
}

// rpLines decodes replay's JSON output, one T a line, refusing unknown fields.
func rpLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var all []T
	for _, line := range strings.SplitAfter(strings.TrimSuffix(out, "\n"), "\n") {
		var v T
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		all = append(all, v)
	}
	return all
}

// rpHashes returns every file under dir with its size and SHA-256.
func rpHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = fmt.Sprintf("%d bytes %x", len(b), sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
