package transport

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
)

// batchWriter is the write side of a socket's TCP connection, under its
// WebSocket connection. The sender writes its queued frames through it,
// each a whole (unfragmented, uncompressed) text message, all of them with
// one system call: the WebSocket library would flush each frame by itself,
// and split one larger than its 4 KiB buffer into two writes, so that a
// storm of `joined` frames, or a queue of `messageWritten` frames, cost a
// system call (and, on loopback, the receiver's wake-up) per piece.
//
// The library still writes its own control frames (pings, pongs, the close
// frame) through Write. Each arrives whole, in one call, because the
// library flushes its buffer after every frame; the mutex keeps the two
// kinds of frames from interleaving. Once the library has written a close
// frame, no more frames go out, as the library itself would refuse them.
type batchWriter struct {
	conn net.Conn

	mu        sync.Mutex
	closeSent bool  // the library wrote a close frame
	err       error // the first write error: the connection is done
}

// Write writes bytes of the library: its frames, each whole.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(p) > 0 && p[0]&0x0f == opClose {
		b.closeSent = true
	}
	n, err := b.conn.Write(p)
	b.err = err
	return n, err
}

// WebSocket frame header bits (RFC 6455, section 5.2).
const (
	finText = 0x81 // FIN, opcode text
	opClose = 0x8
)

// writeText writes each payload as one text message, in order, with as
// few system calls as the connection allows (one writev on TCP).
func (b *batchWriter) writeText(payloads [][]byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	if b.closeSent {
		return net.ErrClosed
	}
	sc := scratchPool.Get().(*writeScratch)
	defer scratchPool.Put(sc)
	headers := slices.Grow(sc.headers[:0], maxFrameHeader*len(payloads)) // never grows below: the slices stay valid
	bufs := sc.bufs[:0]
	for _, p := range payloads {
		start := len(headers)
		headers = appendFrameHeader(headers, len(p))
		bufs = append(bufs, headers[start:], p)
	}
	sc.headers, sc.bufs = headers, bufs
	if _, ok := b.conn.(*net.TCPConn); ok {
		_, b.err = bufs.WriteTo(b.conn) // writev
	} else {
		// Another connection (TLS) would take each buffer as a write
		// of its own: give it one.
		_, b.err = b.conn.Write(concat(bufs))
	}
	clear(sc.bufs[:cap(sc.bufs)]) // hold on to no payload
	return b.err
}

// maxFrameHeader is the longest header of a server's frame.
const maxFrameHeader = 10

// writeScratch is what a writeText needs besides its payloads; pooled, so
// that a write allocates nothing and an idle socket holds none of it.
type writeScratch struct {
	headers []byte
	bufs    net.Buffers
}

var scratchPool = sync.Pool{New: func() any { return new(writeScratch) }}

// appendFrameHeader appends the header of a server's (unmasked) text
// frame of n bytes that ends its message.
func appendFrameHeader(b []byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}

func concat(bufs net.Buffers) []byte {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range bufs {
		out = append(out, b...)
	}
	return out
}
