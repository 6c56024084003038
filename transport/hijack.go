package transport

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a socket. net/http's are 4 KiB each way and stay with
// the request; a socket mostly idles. A frame from the client larger than
// the read buffer costs a system call more (bufio reads past its buffer
// directly). The write buffer only needs to hold a frame header (at most
// 14 bytes): frameWriter sends each frame with one system call however
// large it is. Over TLS, whose connection has no writev, the write buffer
// is net/http's size.
const (
	socketReadBuffer  = 512
	socketWriteBuffer = 16
	tlsWriteBuffer    = 4096
)

// smallBuffers hands the WebSocket library a hijacked connection with
// buffers of its own, sized for chat frames, so that net/http's (and the
// rest of the request) are freed once the handler returns.
type smallBuffers struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the wrapped connection and returns it with new buffers.
// Bytes the client sent before the hijack (its first frame, which may
// follow the 101 at once) move into the new reader.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Writer.Buffered() > 0 {
		return conn, brw, err
	}
	br := bufio.NewReaderSize(conn, socketReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(n, socketReadBuffer))
		br.Peek(n) // served by the bytes.Reader alone: it does not block
	}
	bw := bufio.NewWriterSize(conn, tlsWriteBuffer)
	if _, ok := conn.(*net.TCPConn); ok {
		bw = bufio.NewWriterSize(&frameWriter{conn: conn}, socketWriteBuffer)
	}
	return conn, bufio.NewReadWriter(br, bw), nil
}
