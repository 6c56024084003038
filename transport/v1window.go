package transport

// v1Window is what a room's v1 clients see of its messages: the newest
// retained messages, encoded, whose frame fits a byte budget. v1 sends the
// whole list in every `messageWritten`, so without a budget one user
// writing long messages could make each frame megabytes, and push every v1
// reader past its send queue. The window is cut from the old end; the
// state, and v2's view of it, keep every retained message.
type v1Window struct {
	items  [][]byte // aligned with the room's retained messages, oldest first
	from   int      // items before it do not fit the budget
	bytes  int      // the cost of items[from:]
	budget int      // the most that items[from:] may cost
}

// v1FrameReserve is left of a frame's budget for everything but the
// messages: the event's name and, in `connected`, the user and token.
// (The user list of `connected` is not cut: it is what the room is.)
const v1FrameReserve = 512

func newV1Window(frameBytes int) v1Window {
	return v1Window{budget: max(frameBytes-v1FrameReserve, 1)}
}

// cost is what one encoded message adds to a list: itself and a comma.
func cost(item []byte) int { return len(item) + 1 }

// push adds the room's newest message, cutting the oldest ones that no
// longer fit. A message that alone exceeds the budget is still sent: a
// v1 client must see every new message.
func (w *v1Window) push(item []byte) {
	w.items = append(w.items, item)
	w.bytes += cost(item)
	for w.bytes > w.budget && w.from < len(w.items)-1 {
		w.bytes -= cost(w.items[w.from])
		w.from++
	}
}

// drop forgets the room's n oldest messages, which left the state.
func (w *v1Window) drop(n int) {
	n = min(n, len(w.items))
	for i := w.from; i < n; i++ {
		w.bytes -= cost(w.items[i])
	}
	w.from = max(w.from-n, 0)
	clear(w.items[:n])
	w.items = w.items[n:]
}

// list returns the messages v1 clients see, oldest first.
func (w *v1Window) list() [][]byte { return w.items[w.from:] }
