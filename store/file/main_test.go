package file

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer collects log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logger returns a Logger writing to a new logBuffer.
func logger() (zerolog.Logger, *logBuffer) {
	b := &logBuffer{}
	return zerolog.New(b), b
}

// mustOpen opens dir and closes the log when the test ends.
func mustOpen(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// message returns a WriteMessage action numbered i.
func message(i int) *actions.Action {
	return &actions.Action{
		ID: fmt.Sprintf("id-%d", i), Type: actions.TypeWriteMessage, Room: "lobby",
		Session: "s1", User: "u1",
		Payload: actions.WriteMessage{Message: fmt.Sprintf("message number %d", i)},
	}
}

// appendOne appends message(i) and returns the byte offsets in the active
// segment where its record starts and ends.
func appendOne(t testing.TB, l *Log, i int) (start, end int64) {
	t.Helper()
	start = l.size
	if l.f == nil || l.size >= l.opts.SegmentSize {
		start = segmentHeaderSize
	}
	if err := l.Append(context.Background(), []*actions.Action{message(i)}); err != nil {
		t.Fatal(err)
	}
	return start, l.size
}

// seqs reads the whole log and returns its seqs, checking each message.
func seqs(t testing.TB, l *Log) []uint64 {
	t.Helper()
	var got []uint64
	err := l.Read(context.Background(), 0, func(a *actions.Action) error {
		if want := message(int(a.Seq)); a.ID != want.ID || a.Payload != want.Payload {
			return fmt.Errorf("seq %d holds %+v", a.Seq, a)
		}
		got = append(got, a.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fill appends messages 1..n one at a time.
func fill(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		appendOne(t, l, i)
	}
}

// lastSegment returns the path of the newest segment in dir.
func lastSegment(t testing.TB, dir string) string {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, "log"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	return segs[len(segs)-1].path
}

// flip inverts the byte at off in the file at path.
func flip(t testing.TB, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
