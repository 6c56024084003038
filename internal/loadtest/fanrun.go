package loadtest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

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

func newFanRun(c config, wBase int) *fanRun {
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

// write posts writer w's messages of run r from client cl.
func (r *fanRun) write(ctx context.Context, c config, cl *fanClient, w int, t0 time.Time) error {
	var frame, text []byte
	channel := channelOf(c.url)
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
		if cl.centrifugo {
			frame = centrifugoPublish(frame[:0], uint64(seq)+3, channel, text)
		} else {
			frame = writeFrame(frame[:0], cl.name, text)
		}
		if err := cl.ws.Write(ctx, websocket.MessageText, frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}
