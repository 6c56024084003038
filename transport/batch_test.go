package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// recordingConn is a net.Conn that is not TCP and records each Write.
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

func (c *recordingConn) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// The messages a client reads are exactly the payloads written, in order,
// at every size a frame header distinguishes, with the library's own
// control frames (a ping and its pong) going on at the same time; and a
// TCP connection gets them from one writeText as it is.
func TestBatchWriterMessagesReachTheClient(t *testing.T) {
	var payloads [][]byte
	for _, n := range []int{0, 1, 125, 126, 127, 4096, 65535, 65536, 70000} {
		payloads = append(payloads, []byte(strings.Repeat(string(rune('a'+n%26)), n)))
	}
	accepted := make(chan *websocket.Conn, 1)
	done := make(chan struct{})
	batch := &batchWriter{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(smallBuffers{w, batch}, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			t.Error(err)
			return
		}
		accepted <- c
		<-done // a hijacked connection outlives its request
	}))
	defer srv.Close()
	defer close(done)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseNow()
	client.SetReadLimit(-1)
	server := <-accepted
	defer server.CloseNow()
	if _, ok := batch.conn.(*net.TCPConn); !ok {
		t.Fatalf("the hijacked connection is a %T, want *net.TCPConn (the writev path)", batch.conn)
	}
	go server.Read(ctx) // reads the pong
	pinged := make(chan error, 1)
	go func() { pinged <- server.Ping(ctx) }()
	for range 3 {
		if err := batch.writeText(payloads); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 3 {
		for i, want := range payloads {
			typ, got, err := client.Read(ctx)
			if err != nil {
				t.Fatalf("round %d, message %d: %v", round, i, err)
			}
			if typ != websocket.MessageText || !bytes.Equal(got, want) {
				t.Fatalf("round %d, message %d: %v of %d bytes, want text of %d", round, i, typ, len(got), len(want))
			}
		}
	}
	go client.Read(ctx) // answers nothing more; lets the pong be read
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// Over a connection that is not TCP (TLS), a batch is one Write.
func TestBatchWriterOneWriteOtherwise(t *testing.T) {
	conn := &recordingConn{}
	b := &batchWriter{conn: conn}
	if err := b.writeText([][]byte{[]byte("a"), []byte("bc")}); err != nil {
		t.Fatal(err)
	}
	if conn.calls() != 1 || string(conn.writes[0]) != "\x81\x01a\x81\x02bc" {
		t.Fatalf("writes = %q, want one of both frames", conn.writes)
	}
}

// After the library wrote a close frame, no message goes out.
func TestBatchWriterNothingAfterClose(t *testing.T) {
	conn := &recordingConn{}
	b := &batchWriter{conn: conn}
	b.Write([]byte{0x89, 0})          // a ping
	b.Write([]byte{0x88, 2, 3, 0xe8}) // close 1000
	if err := b.writeText([][]byte{[]byte("late")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("writeText after a close frame = %v, want net.ErrClosed", err)
	}
	if conn.calls() != 2 {
		t.Fatalf("%d writes, want the ping and the close only", conn.calls())
	}
}

// A failed write fails every later one.
func TestBatchWriterErrorSticks(t *testing.T) {
	broken := errors.New("broken pipe")
	conn := &recordingConn{fail: broken}
	b := &batchWriter{conn: conn}
	if err := b.writeText([][]byte{[]byte("x")}); !errors.Is(err, broken) {
		t.Fatalf("writeText = %v, want %v", err, broken)
	}
	conn.fail = nil
	if err := b.writeText([][]byte{[]byte("y")}); !errors.Is(err, broken) {
		t.Fatalf("writeText after a failure = %v, want %v", err, broken)
	}
	if _, err := b.Write([]byte{0x8a, 0}); !errors.Is(err, broken) {
		t.Fatalf("the library's write after a failure = %v, want %v", err, broken)
	}
	if conn.calls() != 0 {
		t.Fatalf("%d writes reached the connection after it failed", conn.calls())
	}
}
