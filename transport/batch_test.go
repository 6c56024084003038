package transport

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
)

// recordingConn is a net.Conn that records each Write it is given.
type recordingConn struct {
	net.Conn // nil: only Write is used
	mu       sync.Mutex
	writes   [][]byte
	fail     error
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordingConn) written() (calls int, all string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.writes {
		all += string(w)
	}
	return len(c.writes), all
}

// Outside a run every write goes straight through; inside one, small
// writes wait for release and then go out as one write, in order.
func TestBatchWriterGathersARun(t *testing.T) {
	conn := &recordingConn{}
	b := &batchWriter{conn: conn}
	b.Write([]byte("a"))
	if calls, all := conn.written(); calls != 1 || all != "a" {
		t.Fatalf("unheld write: %d calls, %q", calls, all)
	}
	b.hold()
	for _, p := range []string{"b", "c", "d"} {
		buf := []byte(p)
		if n, err := b.Write(buf); n != 1 || err != nil {
			t.Fatalf("held write = %d, %v", n, err)
		}
		buf[0] = 'X' // the writer must not keep p
	}
	if calls, _ := conn.written(); calls != 1 {
		t.Fatalf("held writes went out before release: %d calls", calls)
	}
	if err := b.release(); err != nil {
		t.Fatal(err)
	}
	if calls, all := conn.written(); calls != 2 || all != "abcd" {
		t.Fatalf("after release: %d calls, %q; want 2, \"abcd\"", calls, all)
	}
	if err := b.release(); err != nil { // nothing gathered: no write
		t.Fatal(err)
	}
	if calls, _ := conn.written(); calls != 2 {
		t.Fatalf("an empty release wrote: %d calls", calls)
	}
}

// A large write inside a run goes out at once, after what was gathered
// before it; the run goes on gathering after it.
func TestBatchWriterLargeWriteKeepsOrder(t *testing.T) {
	conn := &recordingConn{}
	b := &batchWriter{conn: conn}
	large := strings.Repeat("L", batchGather)
	b.hold()
	b.Write([]byte("head"))
	b.Write([]byte(large))
	_, all := conn.written()
	if all != "head"+large {
		t.Fatalf("after the large write the connection has %d bytes, want head and the large write", len(all))
	}
	b.Write([]byte("tail"))
	if _, all = conn.written(); all != "head"+large {
		t.Fatal("a small write after the large one went out before release")
	}
	b.release()
	if _, all = conn.written(); all != "head"+large+"tail" {
		t.Fatalf("out of order: %d bytes", len(all))
	}
}

// Writes from another goroutine during a run (the library's pongs) go out
// in the order they were made.
func TestBatchWriterConcurrentWritesInOrder(t *testing.T) {
	conn := &recordingConn{}
	b := &batchWriter{conn: conn}
	b.hold()
	b.Write([]byte("1"))
	done := make(chan struct{})
	go func() {
		b.Write([]byte("2"))
		close(done)
	}()
	<-done
	b.Write([]byte("3"))
	b.release()
	if _, all := conn.written(); all != "123" {
		t.Fatalf("got %q, want \"123\"", all)
	}
}

// A failed write fails every later one, and release reports it.
func TestBatchWriterErrorSticks(t *testing.T) {
	broken := errors.New("broken pipe")
	conn := &recordingConn{fail: broken}
	b := &batchWriter{conn: conn}
	b.hold()
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatalf("a gathered write failed early: %v", err)
	}
	if err := b.release(); !errors.Is(err, broken) {
		t.Fatalf("release = %v, want %v", err, broken)
	}
	conn.fail = nil
	if _, err := b.Write([]byte("y")); !errors.Is(err, broken) {
		t.Fatalf("write after a failure = %v, want %v", err, broken)
	}
	b.hold()
	if _, err := b.Write([]byte("z")); !errors.Is(err, broken) {
		t.Fatalf("held write after a failure = %v, want %v", err, broken)
	}
	if calls, _ := conn.written(); calls != 0 {
		t.Fatalf("%d writes reached the connection after it failed", calls)
	}
}
