package main

import (
	"context"
	"encoding/json"
	"strconv"
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

	// Reader state; only the reader touches it.
	buf   []byte
	texts [][]byte
	seq   uint64 // v2: seq of the last snapshot or patch
}

// fanRun is one run of the fan-out: what every client must receive.
type fanRun struct {
	wBase   int   // writer w of this run marks its messages w<wBase+w>
	offset  []int // writer w's messages are numbered offset[w] … offset[w+1]-1
	total   int   // messages in the run
	accs    []clientAcc
	slots   []chan struct{} // per writer: one token per message in flight
	pending atomic.Int64    // clients that have not received every message
	done    chan struct{}   // closed when pending reaches 0

	rejected, slowPath, seqRegress, resyncs, lostSockets atomic.Int64
	errMu                                                sync.Mutex
	errors                                               map[string]int64
}

// clientAcc is one client's receipts in one run; its reader owns it
// (under fanClient.mu).
type clientAcc struct {
	seen                             []uint64 // bit per message
	last                             []int    // per writer: highest message seen
	lat                              []int64  // ns from send to receipt, per new message
	unique, dups, reordered, foreign int64
	lastAt                           int64 // unix ns of the last new message
}

func newFanRun(c benchConfig, wBase int) *fanRun {
	r := &fanRun{wBase: wBase, total: c.messages, done: make(chan struct{}), errors: map[string]int64{}}
	r.offset = make([]int, c.writers+1)
	for w := range c.writers {
		n := c.messages / c.writers
		if w < c.messages%c.writers {
			n++
		}
		r.offset[w+1] = r.offset[w] + n
	}
	r.accs = make([]clientAcc, c.clients)
	for i := range r.accs {
		r.accs[i] = clientAcc{
			seen: make([]uint64, (c.messages+63)/64),
			last: make([]int, c.writers),
			lat:  make([]int64, 0, c.messages),
		}
		for w := range r.accs[i].last {
			r.accs[i].last[w] = -1
		}
	}
	r.pending.Store(int64(c.clients))
	if c.inflight > 0 {
		r.slots = make([]chan struct{}, c.writers)
		for w := range r.slots {
			r.slots[w] = make(chan struct{}, c.inflight)
		}
	}
	return r
}

func (r *fanRun) addError(kind string) {
	r.errMu.Lock()
	r.errors[kind]++
	r.errMu.Unlock()
}

// release frees one window slot of writer w: its message was delivered to
// it, or refused.
func (r *fanRun) release(w int) {
	if r.slots != nil {
		select {
		case <-r.slots[w]:
		default:
		}
	}
}

// readLoop reads frames until the socket ends; closing reports whether
// the bench itself is closing the sockets.
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

// closeReason describes how a read ended: the close code, if any.
func closeReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return strconv.Itoa(int(code))
	}
	return "no close frame"
}

func (cl *fanClient) handle(r *fanRun, frame []byte, now int64) {
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

// decodeLastText is the slow path of lastMessageText: it decodes the
// whole messagesList.
func decodeLastText(frame []byte) ([]byte, bool) {
	var f struct {
		MessagesList []struct {
			Message string `json:"message"`
		} `json:"messagesList"`
	}
	if json.Unmarshal(frame, &f) != nil || len(f.MessagesList) == 0 {
		return nil, false
	}
	return []byte(f.MessagesList[len(f.MessagesList)-1].Message), true
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

// write posts writer w's messages of run r from client cl.
func (r *fanRun) write(ctx context.Context, c benchConfig, cl *fanClient, w int, t0 time.Time) error {
	var frame, text []byte
	for seq := range r.offset[w+1] - r.offset[w] {
		if r.slots != nil {
			select {
			case r.slots[w] <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		if c.rate > 0 {
			at := t0.Add(time.Duration(float64(seq*c.writers+w) / c.rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil
				}
			}
		}
		text = padText(appendMarker(text[:0], r.wBase+w, seq, time.Now().UnixNano()), c.size)
		frame = writeFrame(frame[:0], cl.name, text)
		if err := cl.ws.Write(ctx, websocket.MessageText, frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}
