package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestWholeFrames(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want bool
	}{
		{nil, false},
		{[]byte{0x81}, false},
		{[]byte{0x81, 0}, true},
		{[]byte{0x81, 3, 'a', 'b'}, false},
		{[]byte{0x81, 3, 'a', 'b', 'c'}, true},
		{[]byte{0x81, 126, 0}, false},
		{append([]byte{0x81, 126, 0, 2}, 'a'), false},
		{append([]byte{0x81, 126, 0, 2}, 'a', 'b'), true},
		{[]byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0, 'a'}, false},
		{[]byte{0x81, 0x81, 1, 2, 3, 4}, false}, // masked: the key, then one byte
		{[]byte{0x81, 0x81, 1, 2, 3, 4, 'a'}, true},
	} {
		if got := wholeFrames(tc.p); got != tc.want {
			t.Errorf("wholeFrames(% x) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// TestFrameWriter: messages of every size class of the frame header (7,
// 16 and 64 bit lengths), around the write buffer's size, and pings reach
// the peer intact and in order through the socket's small buffers.
func TestFrameWriter(t *testing.T) {
	sizes := []int{0, 1, 5, 6, 13, 14, 15, 16, 17, 100, 125, 126, 127, 1000, 65535, 65536, 300000}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(smallBuffers{w}, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.CloseNow()
		ctx := conn.CloseRead(context.Background())
		for i, n := range sizes {
			if i == len(sizes)/2 {
				if err := conn.Ping(ctx); err != nil {
					t.Error(err)
					return
				}
			}
			if err := conn.Write(ctx, websocket.MessageText, []byte(strings.Repeat(string(rune('a'+i)), n))); err != nil {
				t.Error(err)
				return
			}
		}
		conn.Close(websocket.StatusNormalClosure, "done")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	for i, n := range sizes {
		_, got, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("message %d (%d bytes): %v", i, n, err)
		}
		if want := bytes.Repeat([]byte{byte('a' + i)}, n); !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes, want %d bytes of %c", i, len(got), n, 'a'+i)
		}
	}
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the messages: %v, want a normal close", err)
	}
}

// BenchmarkFrameWriter writes 200-byte frames (a v2 patch) to a loopback
// peer that discards them: through frameWriter, and through a 4 KiB bufio
// writer (net/http's) for comparison.
func BenchmarkFrameWriter(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	frame := append([]byte{0x81, 126, 0, 200}, bytes.Repeat([]byte("x"), 200)...)
	for _, tc := range []struct {
		name string
		bw   func(net.Conn) *bufio.Writer
	}{
		{"frameWriter", func(c net.Conn) *bufio.Writer {
			return bufio.NewWriterSize(&frameWriter{conn: c}, socketWriteBuffer)
		}},
		{"bufio4KiB", func(c net.Conn) *bufio.Writer { return bufio.NewWriterSize(c, 4096) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			bw := tc.bw(conn)
			b.ReportAllocs()
			for b.Loop() {
				bw.Write(frame[:4]) // the header, as the library writes it
				bw.Write(frame[4:])
				bw.Flush()
			}
		})
	}
}
