package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture copies testdata/name, a data directory as some version of
// statecast left it, to a fresh directory and returns its path.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// files returns every file under dir with its contents, for checking that
// nothing changed.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		b, err := os.ReadFile(path)
		out[strings.TrimPrefix(path, dir)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFormat1IsRead: a directory of format 1 (testdata/format1, written
// before the FORMAT file existed: records 1 to 5 and a snapshot at 3) is
// read as it is; opened read-only it stays untouched, opened to write it
// gets its FORMAT file and appends go on.
func TestFormat1IsRead(t *testing.T) {
	t.Parallel()
	dir := fixture(t, "format1")
	before := files(t, dir)
	ro := mustOpen(t, dir, Options{ReadOnly: true})
	if got := seqs(t, ro); !reflect.DeepEqual(got, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("read-only: seqs %v, want 1 to 5", got)
	}
	ro.Close()
	if after := files(t, dir); !reflect.DeepEqual(after, before) {
		t.Fatalf("a read-only open changed the directory: %v files, were %v", len(after), len(before))
	}

	lg, logs := logger()
	l := mustOpen(t, dir, Options{Logger: lg})
	if got := seqs(t, l); !reflect.DeepEqual(got, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("seqs %v, want 1 to 5", got)
	}
	seq, data, err := l.LatestSnapshot()
	if err != nil || seq != 3 || string(data) != "the state after seq 3" {
		t.Fatalf("LatestSnapshot: %d %q %v; want the fixture's at seq 3", seq, data, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "FORMAT"))
	if err != nil || string(b) != "statecast data format 2\n" {
		t.Fatalf("FORMAT: %q, %v; want version 2 written", b, err)
	}
	if !strings.Contains(logs.String(), `"from":1,"to":2`) {
		t.Fatalf("the upgrade is not logged: %s", logs)
	}
	appendOne(t, l, 6)
	l.Close()
	l = mustOpen(t, dir, Options{})
	if got := seqs(t, l); len(got) != 6 {
		t.Fatalf("after reopening: seqs %v, want 1 to 6", got)
	}
}

// TestNewerFormatRefused: a directory, a segment or a snapshot in a format
// newer than this package reads is refused, to write and read-only alike,
// with an error naming both versions, and the directory is left as it was.
func TestNewerFormatRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fixture, file  string
		version, known uint32
		// marked: Open succeeds, writing the missing FORMAT (which names
		// version 2 and changes nothing for any reader), and the snapshot
		// is refused as it is read, as the store does when it starts.
		marked bool
	}{
		{"format9", "FORMAT", 9, FormatVersion, false},
		{"segment2", filepath.Join("log", "00000000000000000001.seg"), 2, segmentVersion, false},
		{"snapshot2", filepath.Join("snapshots", "00000000000000000003.snap"), 2, snapshotVersion, true},
	} {
		for _, ro := range []bool{false, true} {
			dir := fixture(t, tc.fixture)
			before := files(t, dir)
			l, err := Open(dir, Options{ReadOnly: ro})
			if err == nil {
				_, _, err = l.LatestSnapshot()
				l.Close()
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != filepath.Join(dir, tc.file) || fe.Version != tc.version || fe.Known != tc.known {
				t.Fatalf("%s (read-only %v): %v; want a FormatError for %s, version %d of %d", tc.fixture, ro, err, tc.file, tc.version, tc.known)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("version %d,", tc.version)) || !strings.Contains(msg, fmt.Sprintf("up to %d:", tc.known)) {
				t.Fatalf("%s: %q does not name both versions", tc.fixture, msg)
			}
			after := files(t, dir)
			if tc.marked && !ro {
				delete(after, "/FORMAT")
			}
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("%s: the refused directory changed", tc.fixture)
			}
		}
	}
}

// TestDamagedVersionIsDamage: a version field whose header checksum fails
// is damage (a *CorruptError that says how to repair it), not a newer
// format.
func TestDamagedVersionIsDamage(t *testing.T) {
	t.Parallel()
	dir := fixture(t, "format1")
	seg := filepath.Join(dir, "log", "00000000000000000001.seg")
	flip(t, seg, 8)
	_, err := Open(dir, Options{})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != seg || ce.Offset != 0 {
		t.Fatalf("Open: %v; want a CorruptError at %s offset 0", err, seg)
	}
}

// TestFormatFile: a new directory gets the current FORMAT, a read-only
// open of one writes nothing, and a FORMAT that names no version fails.
func TestFormatFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	mustOpen(t, dir, Options{ReadOnly: true}).Close()
	if _, err := os.Stat(filepath.Join(dir, "FORMAT")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open wrote FORMAT: %v", err)
	}
	lg, logs := logger()
	mustOpen(t, dir, Options{Logger: lg}).Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "FORMAT")); string(b) != "statecast data format 2\n" {
		t.Fatalf("new directory: FORMAT %q", b)
	}
	if logs.String() != "" {
		t.Fatalf("a new directory is no upgrade, yet: %s", logs)
	}
	if err := os.WriteFile(filepath.Join(dir, "FORMAT"), []byte("format two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "statecast data format 2") {
		t.Fatalf("unreadable FORMAT: %v; want an error saying what it should read", err)
	}
}
