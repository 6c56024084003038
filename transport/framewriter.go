package transport

import (
	"encoding/binary"
	"net"
)

// frameWriter lets the WebSocket library write through a bufio.Writer of a
// few bytes without costing a system call more per frame. The library
// writes a frame's header into its buffer, then the payload: a payload that
// does not fit is written as the buffer's first bytes (the header and the
// payload's start), then the rest. frameWriter holds such a start back and
// writes it with the rest in one writev; a write that holds whole frames
// goes out as it is. Only the library's writer calls it (one at a time).
type frameWriter struct {
	conn net.Conn
	held [socketWriteBuffer]byte
	n    int // bytes held: the start of a frame
	// The writev's vector, here so that a write allocates nothing.
	vec  [2][]byte
	bufs net.Buffers
}

func (w *frameWriter) Write(p []byte) (int, error) {
	if w.n > 0 {
		held := w.n
		w.n = 0
		w.vec = [2][]byte{w.held[:held], p}
		w.bufs = w.vec[:]
		n, err := w.bufs.WriteTo(w.conn)
		w.vec[1] = nil // the frame is the caller's
		return max(int(n)-held, 0), err
	}
	if len(p) <= len(w.held) && !wholeFrames(p) {
		w.n = copy(w.held[:], p)
		return len(p), nil
	}
	return w.conn.Write(p)
}

// wholeFrames reports whether p starts with a frame header (RFC 6455 5.2)
// and holds at least that frame's header and payload.
func wholeFrames(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	size, at := uint64(p[1]&0x7f), 2
	switch size {
	case 126:
		if len(p) < 4 {
			return false
		}
		size, at = uint64(binary.BigEndian.Uint16(p[2:])), 4
	case 127:
		if len(p) < 10 {
			return false
		}
		size, at = binary.BigEndian.Uint64(p[2:]), 10
	}
	if p[1]&0x80 != 0 {
		at += 4 // masking key
	}
	return uint64(len(p)-at) >= size
}
