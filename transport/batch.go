package transport

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// batchWriter sits between a socket's WebSocket connection and its TCP
// connection, so that the sender can write a run of queued frames with
// few system calls. The WebSocket library flushes every frame it writes,
// and splits a frame larger than its 4 KiB buffer into two writes; a
// storm of `joined` frames, or a `messageWritten` carrying a long window,
// then costs a system call (and, on loopback, the receiver's wake-up) per
// piece. Between hold and release, small writes are gathered in a buffer
// and a large one goes out together with them in one writev.
//
// Control frames the library writes by itself (pongs, the close frame)
// pass through it too: they are held only while a run is being written,
// and go out in order with it.
type batchWriter struct {
	conn net.Conn

	mu      sync.Mutex
	holding bool
	pooled  *[]byte // the buffer gathering a run, from batchBuffers; nil otherwise
	buf     []byte  // what is gathered: (*pooled)[:n]
	err     error   // the first write error: the connection is done
}

// batchGather is how many bytes a held batch gathers before it writes them.
// Writes of this size or larger are written at once, with whatever is
// gathered before them, without copying.
const batchGather = 16 << 10

// hold starts a run: writes are gathered until release.
func (b *batchWriter) hold() {
	b.mu.Lock()
	b.holding = true
	b.mu.Unlock()
}

// release writes what was gathered and ends the run.
func (b *batchWriter) release() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	return b.flushLocked(nil)
}

// Write writes p, or while holding gathers it; it never keeps p.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil && b.holding && len(b.buf)+len(p) < batchGather {
		if b.pooled == nil {
			b.pooled = batchBuffers.Get().(*[]byte)
			b.buf = (*b.pooled)[:0]
		}
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	if err := b.flushLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flushLocked writes the gathered bytes followed by p, with one system
// call, and gives the buffer back; b.mu held.
func (b *batchWriter) flushLocked(p []byte) error {
	gathered := b.buf
	defer b.putBuffer()
	switch {
	case b.err != nil:
	case len(gathered) == 0 && len(p) == 0:
	case len(gathered) == 0:
		_, b.err = b.conn.Write(p)
	case len(p) == 0:
		_, b.err = b.conn.Write(gathered)
	default:
		bufs := net.Buffers{gathered, p}
		_, b.err = bufs.WriteTo(b.conn) // writev on a TCP connection
	}
	return b.err
}

// putBuffer gives the gathering buffer back to the pool; b.mu held.
func (b *batchWriter) putBuffer() {
	if b.pooled != nil {
		*b.pooled = b.buf[:0]
		batchBuffers.Put(b.pooled)
		b.pooled, b.buf = nil, nil
	}
}

// batchBuffers holds the gathering buffers of the runs being written: an
// idle socket keeps none.
var batchBuffers = sync.Pool{New: func() any {
	buf := make([]byte, 0, batchGather)
	return &buf
}}

// batchingResponse hands the WebSocket library a hijacked connection whose
// writes go through a batchWriter.
type batchingResponse struct {
	http.ResponseWriter
	batch *batchWriter
}

// Unwrap lets http.ResponseController reach the original writer.
func (r batchingResponse) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack hijacks the connection, and points the writer the library will
// use at the batchWriter.
func (r batchingResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	if err := brw.Writer.Flush(); err != nil {
		return conn, brw, err
	}
	r.batch.conn = conn
	brw.Writer.Reset(r.batch)
	return conn, brw, nil
}
