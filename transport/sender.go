package transport

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
)

// sender is the send side of one socket: a bounded queue of frames, the
// writer goroutine that drains it, the v2 merge window and the write
// timeout. Anyone may queue frames (the hub's fan-out, the socket's own
// reader); only the writer writes. A writer goroutine runs only while
// frames wait: an idle socket has none. Its owner, the session, ends it
// with stop before the socket goes.
type sender struct {
	conn  *websocket.Conn
	batch *batchWriter // under conn; nil: each frame is its own write
	cfg   *Config
	v2    bool            // merge adjacent changes into one patch, once per MergeWindow
	done  <-chan struct{} // closed when the session ends: stop waiting
	stats *queueStats
	log   func(zerolog.Level) *zerolog.Event // the session's

	// Guarded by mu. Once a writer closed the socket or failed, none
	// starts again (writerEnded).
	mu          sync.Mutex
	queue       []outFrame
	queueBuf    *queueBuf // where queue's array came from and goes back to; nil with no array
	queuedBytes int
	closeCode   websocket.StatusCode // set once: the writer closes with it
	closeReason string
	writing     bool
	writerEnded bool
	hurried     bool        // a frame waits that must not wait for the merge window (see enqueue)
	mergeTimer  *time.Timer // the writer's merge window, while it waits
	mergeEnd    time.Time   // when the merge window ends, if the timer waits for the presence window
	writers     sync.WaitGroup

	// Only the writer touches these: when it last took frames to write,
	// and the timer that drops a peer too slow to take them.
	lastWrite  time.Time
	writeTimer *time.Timer
}

// outFrame is one queued item: a whole frame, or one change's v2
// operations; presence says they change the user list alone.
type outFrame struct {
	data     []byte
	ops      [][]byte
	seq      uint64
	presence bool
}

// stopWriting tells the writer to stop without a close frame: the reader
// has already seen the socket end.
const stopWriting websocket.StatusCode = -1

// send queues a frame. A socket whose queue is full is closed with 1013:
// a slow reader never holds up anyone else.
func (w *sender) send(frame []byte) {
	w.enqueue(outFrame{data: frame}, len(frame), true)
}

// sendPresence queues a v1 presence event (`joined`, `disconnected`):
// while only such events wait, the writer holds them for the presence
// window and writes them together.
func (w *sender) sendPresence(frame []byte) {
	w.enqueue(outFrame{data: frame, presence: true}, len(frame), false)
}

// sendPatch queues the v2 operations of the change at seq. The writer
// merges adjacent changes into one `patch` frame. own says the change is
// the socket's own action: its author waits for it, so the writer sends it
// without waiting for the merge window to end. presence says the change
// touches the user list alone, which may wait for the presence window.
func (w *sender) sendPatch(seq uint64, ops [][]byte, own, presence bool) {
	size := 0
	for _, op := range ops {
		size += len(op)
	}
	w.enqueue(outFrame{ops: ops, seq: seq, presence: presence}, size, own)
}

// enqueue queues f, of size bytes; hurry says it is not to wait for the
// merge window: a socket's own change, or a frame that merges with nothing
// (an ack, an error, a snapshot), which only holds up the frames before it.
func (w *sender) enqueue(f outFrame, size int, hurry bool) {
	w.mu.Lock()
	if w.closeCode != 0 {
		w.mu.Unlock()
		return
	}
	if len(w.queue) >= w.cfg.SendQueue || w.queuedBytes+size > w.cfg.SendQueueBytes {
		queued := len(w.queue)
		w.mu.Unlock()
		w.log(zerolog.WarnLevel).Int("queued", queued).Msg("socket too slow; closing it")
		if w.closeWith(closeTryAgain, "too slow a reader") {
			w.stats.drops.Add(1)
		}
		return
	}
	if w.queueBuf == nil {
		w.queueBuf = queuePool.Get().(*queueBuf)
		w.queue = w.queueBuf.frames[:0]
	}
	w.queue = append(w.queue, f)
	w.queuedBytes += size
	switch {
	case hurry:
		w.hurried = true
		if w.mergeTimer != nil {
			w.mergeTimer.Reset(0)
		}
	case !f.presence && !w.mergeEnd.IsZero():
		// The writer waits for the presence window: this change is
		// due at the merge window's end.
		w.mergeTimer.Reset(max(0, time.Until(w.mergeEnd)))
		w.mergeEnd = time.Time{}
	}
	w.stats.queued.Add(1)
	w.startWriterLocked()
	w.mu.Unlock()
}

// closeWith asks the writer to close the socket with code once the frames
// already queued are written (for 1013, at once). The first call wins,
// and only it returns true.
func (w *sender) closeWith(code websocket.StatusCode, reason string) (first bool) {
	w.mu.Lock()
	if first = w.closeCode == 0; first {
		w.closeCode, w.closeReason = code, reason
		if code == closeTryAgain {
			w.takeQueue()
		}
	}
	w.startWriterLocked()
	w.mu.Unlock()
	return first
}

// stop ends the send side: the writer stops without a close frame unless
// one was asked for, and stop waits for it and drops what it left.
func (w *sender) stop() {
	w.closeWith(stopWriting, "")
	w.writers.Wait()
	w.mu.Lock()
	w.takeQueue()
	w.mu.Unlock()
}

// closedCode returns the close code the server chose, or 0.
func (w *sender) closedCode() websocket.StatusCode {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeCode
}

// takeQueue empties the queue and returns the frames it held, and the
// buffer to give their array back to (see recycle); w.mu held.
func (w *sender) takeQueue() ([]outFrame, *queueBuf) {
	q, buf := w.queue, w.queueBuf
	w.queue, w.queueBuf, w.queuedBytes = nil, nil, 0
	if len(q) > 0 {
		w.stats.left.Add(uint64(len(q)))
	}
	return q, buf
}

// queueBuf holds a queue's array between uses. A busy socket would
// otherwise grow a new queue after every write (the allocations were
// three quarters of the server's bytes in a fan-out); pooled, an idle
// socket holds none.
type queueBuf struct{ frames []outFrame }

var queuePool = sync.Pool{New: func() any { return new(queueBuf) }}

// recycle gives the array of written frames back to the pool.
func recycle(frames []outFrame, buf *queueBuf) {
	if buf == nil || cap(frames) > maxPooledQueue {
		return
	}
	clear(frames)
	buf.frames = frames[:0]
	queuePool.Put(buf)
}

// maxPooledQueue bounds the frames of a pooled queue array.
const maxPooledQueue = 256

// startWriterLocked starts a writer goroutine unless one runs or the
// socket's writing has ended; w.mu held.
func (w *sender) startWriterLocked() {
	if w.writing || w.writerEnded {
		return
	}
	w.writing = true
	w.writers.Add(1)
	go w.writeLoop()
}

// writeLoop writes queued frames in order until the queue is empty, and
// closes the socket when asked.
func (w *sender) writeLoop() {
	defer w.writers.Done()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 && w.closeCode == 0 {
			w.writing = false // idle: the next frame starts a writer again
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		w.awaitMergeWindow()
		w.mu.Lock()
		frames, buf := w.takeQueue()
		code, reason := w.closeCode, w.closeReason
		w.mu.Unlock()
		err := w.writeAll(frames)
		recycle(frames, buf)
		if err != nil {
			w.conn.CloseNow()
		} else if code > 0 {
			w.conn.Close(code, reason)
		}
		if err != nil || code != 0 {
			w.mu.Lock()
			w.writing, w.writerEnded = false, true
			w.mu.Unlock()
			return
		}
	}
}

// awaitMergeWindow holds a v2 socket's next write until MergeWindow has
// passed since its last one, so that the changes queued meanwhile go out
// as one patch; a change of the socket's own cuts the wait short. While
// only user list changes wait (v2 patches, v1 presence events), it holds
// them for PresenceWindow instead; anything else queued behind them ends
// that wait (at MergeWindow, or at once).
func (w *sender) awaitMergeWindow() {
	if w.cfg.MergeWindow <= 0 {
		return
	}
	now := time.Now()
	w.mu.Lock()
	var end time.Time // zero: no wait
	switch {
	case w.cfg.PresenceWindow > w.cfg.MergeWindow && w.onlyPresenceLocked():
		w.mergeEnd = w.lastWrite.Add(w.cfg.MergeWindow)
		end = w.lastWrite.Add(w.cfg.PresenceWindow)
	case w.v2:
		end = w.lastWrite.Add(w.cfg.MergeWindow)
	}
	if wait := end.Sub(now); !end.IsZero() && wait > 0 && !w.hurried {
		t := timerPool.Get().(*time.Timer)
		t.Reset(wait)
		w.mergeTimer = t
		w.mu.Unlock()
		select {
		case <-t.C: // the window's end, or an own change (Reset(0))
		case <-w.done:
		}
		w.mu.Lock()
		w.mergeTimer = nil
		t.Stop() // nothing is left to receive from a stopped timer
		timerPool.Put(t)
		now = time.Now()
	}
	w.mergeEnd = time.Time{}
	w.hurried = false // the frames about to be taken include the own change
	w.mu.Unlock()
	w.lastWrite = now
}

// onlyPresenceLocked reports whether frames wait, all of them changes of
// the user list alone, and no close; w.mu held.
func (w *sender) onlyPresenceLocked() bool {
	if len(w.queue) == 0 || w.closeCode != 0 {
		return false
	}
	for _, f := range w.queue {
		if !f.presence {
			return false
		}
	}
	return true
}

// writeAll writes the frames in order, merging each run of adjacent v2
// changes into one `patch` whose seq is the last one's: fewer frames are
// what makes fan-out fast. They go out together, with one system call, when
// the socket has a batchWriter. A peer that takes longer than WriteTimeout
// to accept them is dropped.
func (w *sender) writeAll(frames []outFrame) error {
	if len(frames) == 0 {
		return nil
	}
	if w.writeTimer == nil {
		w.writeTimer = time.AfterFunc(w.cfg.WriteTimeout, func() { w.conn.CloseNow() })
	} else {
		w.writeTimer.Reset(w.cfg.WriteTimeout)
	}
	defer w.writeTimer.Stop()
	sc := framesPool.Get().(*frameScratch)
	defer sc.release()
	// The patches go into sc.patches, grown once to hold them all, so
	// that the payloads sliced from it stay valid.
	size := 0
	for _, f := range frames {
		if f.ops != nil {
			size += actions.PatchSize(f.ops)
		}
	}
	patches := slices.Grow(sc.patches[:0], size)
	payloads := sc.payloads[:0]
	for i := 0; i < len(frames); {
		if frames[i].ops == nil {
			payloads = append(payloads, frames[i].data)
			i++
			continue
		}
		ops := sc.ops[:0]
		var seq uint64
		for ; i < len(frames) && frames[i].ops != nil; i++ {
			ops, seq = append(ops, frames[i].ops...), frames[i].seq
		}
		start := len(patches)
		patches = actions.AppendPatch(patches, seq, ops) // copies the ops
		payloads = append(payloads, patches[start:])
		sc.ops = ops
	}
	sc.payloads, sc.patches = payloads, patches
	if w.batch != nil {
		return w.batch.writeText(payloads)
	}
	for _, p := range payloads {
		if err := w.write(p); err != nil {
			return err
		}
	}
	return nil
}

// timerPool holds the merge windows' timers, stopped, between waits.
var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// frameScratch is what writeAll gathers a batch of frames in, patches
// included; pooled, so that a write allocates nothing and an idle socket
// holds none of it.
type frameScratch struct {
	payloads, ops [][]byte
	patches       []byte
}

// maxPooledPatches bounds the patch bytes a pooled frameScratch keeps: a
// rare large write (a long resume) does not stay in memory.
const maxPooledPatches = 1 << 20

var framesPool = sync.Pool{New: func() any { return new(frameScratch) }}

// release forgets the frames and returns sc to the pool.
func (sc *frameScratch) release() {
	clear(sc.payloads[:cap(sc.payloads)])
	clear(sc.ops[:cap(sc.ops)])
	if cap(sc.patches) > maxPooledPatches {
		sc.patches = nil
	}
	framesPool.Put(sc)
}

// write writes one frame through the library. Its context never ends: a
// context that can end costs the library a watcher per write, so
// writeAll's timer and the session's end (which drops the socket) bound
// writes instead.
func (w *sender) write(frame []byte) error {
	return w.conn.Write(context.Background(), websocket.MessageText, frame)
}
