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
// directly). The library's write buffer only carries its control frames
// (pings, pongs, the close frame: at most 2+125 bytes each), whole, since
// the sender writes every other frame through the socket's batchWriter.
const (
	socketReadBuffer  = 512
	controlFrameBytes = 128
)

// smallBuffers hands the WebSocket library a hijacked connection with
// buffers of its own, sized for chat frames, so that net/http's (and the
// rest of the request) are freed once the handler returns; the library's
// writes go through batch, which the socket's sender writes through too.
type smallBuffers struct {
	http.ResponseWriter
	batch *batchWriter
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the wrapped connection and returns it with new buffers.
// Bytes the client sent before the hijack (its first frame, which may
// follow the 101 at once) move into the new reader.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	if err := brw.Writer.Flush(); err != nil {
		return conn, brw, err
	}
	br := bufio.NewReaderSize(conn, socketReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(n, socketReadBuffer))
		br.Peek(n) // served by the bytes.Reader alone: it does not block
	}
	w.batch.conn = conn
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.batch, controlFrameBytes)), nil
}
