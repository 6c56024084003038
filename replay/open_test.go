package replay_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/statecast/statecast/replay"
)

// OpenDir names what is wrong with a directory that holds no log, and
// writes nothing anywhere.
func TestOpenDirErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"missing data directory", missing, "data directory: stat " + missing + ": no such file or directory"},
		{"data is a file", notDir, "data directory " + notDir + ": not a directory"},
		{"not a data directory", dir, "data directory " + dir + " holds no action log (stat " + filepath.Join(dir, "log") + ": no such file or directory); is it the server's -data?"},
	} {
		out, errOut, err := rpRun(replay.Config{Dir: tc.dir})
		if err == nil || err.Error() != tc.want || out != "" || errOut != "" {
			t.Errorf("%s: error %v, output %q %q; want error %q", tc.name, err, out, errOut, tc.want)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Errorf("the directory holds %v (%v), want only the file", entries, err)
	}
}
