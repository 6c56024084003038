package transport

import (
	"bufio"
	"net"
	"net/http"
)

// Buffer sizes of a socket. net/http's are 4 KiB each way and stay with
// the request; a socket mostly idles, and a chat frame fits in far less.
// A larger frame costs one more system call, never a wrong read or write:
// bufio reads and writes past its buffer directly.
const (
	socketReadBuffer  = 512
	socketWriteBuffer = 1024
)

// smallBuffers hands the WebSocket library a hijacked connection with
// buffers of its own, sized for chat frames, so that net/http's (and the
// rest of the request) are freed once the handler returns.
type smallBuffers struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the wrapped connection and returns it with new buffers.
// If the client sent bytes past its request before the answer (rare), they
// sit in net/http's reader, which is returned as it is.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 || brw.Writer.Buffered() > 0 {
		return conn, brw, err
	}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, socketReadBuffer), bufio.NewWriterSize(conn, socketWriteBuffer)), nil
}
