package loadtest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// fanClient is one connected fan-out client and its reader.
type fanClient struct {
	idx  int
	name string
	ws   *websocket.Conn

	frames atomic.Int64 // every data frame read, for settling and totals

	// mu guards run and the accounting of run's client entry; the reader
	// holds it while it handles a frame, so that swapping run fences off
	// the previous run's numbers.
	mu  sync.Mutex
	run *fanRun

	centrifugo bool // the client speaks Centrifugo's protocol

	// Reader state; only the reader touches it.
	buf   []byte
	texts [][]byte
	seq   uint64 // v2: seq of the last snapshot or patch
}

// readLoop reads frames until the socket ends; closing reports whether
// the tool itself is closing the sockets.
func (cl *fanClient) readLoop(closing *atomic.Bool) {
	for {
		var err error
		cl.buf, err = readFrame(context.Background(), cl.ws, cl.buf)
		if err != nil {
			if !closing.Load() {
				cl.mu.Lock()
				if r := cl.run; r != nil {
					r.lostSockets.Add(1)
					r.addError("socket ended: " + closeReason(err))
				}
				cl.mu.Unlock()
			}
			return
		}
		cl.frames.Add(1)
		now := time.Now().UnixNano()
		cl.mu.Lock()
		cl.handle(cl.run, cl.buf, now)
		cl.mu.Unlock()
	}
}

// handle accounts one frame to run r (nil between runs: the frame is
// only read) at now, the time it was read.
func (cl *fanClient) handle(r *fanRun, frame []byte, now int64) {
	if cl.centrifugo {
		cl.handleCentrifugo(r, frame, now)
		return
	}
	ev, ok := frameEvent(frame)
	slow := !ok
	if !ok {
		if ev, ok = decodeEvent(frame); !ok {
			return // not JSON (the seed's "success connected")
		}
	}
	switch string(ev) {
	case "messageWritten":
		text, ok := lastMessageText(frame)
		if !ok {
			slow = true
			text, ok = decodeLastText(frame)
		}
		if ok && r != nil {
			cl.deliver(r, text, now)
		}
	case "patch":
		var seq uint64
		cl.texts, seq, ok = patchMessages(frame, cl.texts[:0])
		if r != nil {
			if seq <= cl.seq {
				r.seqRegress.Add(1)
			}
			for _, t := range cl.texts {
				cl.deliver(r, t, now)
			}
		}
		cl.seq = max(cl.seq, seq)
	case "snapshot":
		if r != nil {
			r.resyncs.Add(1)
		}
	case "error":
		e := decodeError(frame)
		if r != nil {
			r.addError(e.Code)
			if e.Ref == "writeMessage" && cl.idx < len(r.offset)-1 {
				r.rejected.Add(1)
				r.release(cl.idx)
			}
		}
	}
	if slow && r != nil {
		r.slowPath.Add(1)
	}
}

// deliver counts the receipt of the message text at now.
func (cl *fanClient) deliver(r *fanRun, text []byte, now int64) {
	a := &r.accs[cl.idx]
	w, seq, ns, ok := parseMarker(text)
	w -= r.wBase
	if !ok || w < 0 || w >= len(r.offset)-1 || seq >= r.offset[w+1]-r.offset[w] {
		a.foreign++ // fill messages, another run's, another program's
		return
	}
	bit := r.offset[w] + seq
	if a.seen[bit/64]&(1<<(bit%64)) != 0 {
		a.dups++
		return
	}
	a.seen[bit/64] |= 1 << (bit % 64)
	a.unique++
	a.lat = append(a.lat, now-ns)
	if seq < a.last[w] {
		a.reordered++
	}
	a.last[w] = max(a.last[w], seq)
	a.lastAt = now
	if w == cl.idx {
		r.release(w)
	}
	if a.unique == int64(r.total) && r.pending.Add(-1) == 0 {
		close(r.done)
	}
}
