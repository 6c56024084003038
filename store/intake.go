package store

import "sync/atomic"

// intake is where dispatchers leave their requests for the apply loop: a
// lock-free stack that many goroutines push onto and the loop alone takes
// from, all of it at once, in arrival order. A push is one
// CompareAndSwap; only a push onto an empty intake also signals wake,
// which the loop waits on when it found nothing. So a busy store costs its
// dispatchers no lock and its loop no receive per request: a channel's
// lock, taken by every send and receive, cost the parallel dispatch about
// a quarter of its CPU on two cores.
//
// The intake holds at most one request per goroutine in Dispatch, since
// each waits for its answer: it is bounded by the dispatchers, as a
// server's are by its connections.
//
// Closing marks the intake: pushes fail from then on, and the loop still
// takes what was pushed before.
type intake struct {
	head   atomic.Pointer[request] // newest request, linked to older ones; closed once closed
	closed *request                // the mark; its link holds what was pushed before the close
	wake   chan struct{}           // a push onto an empty intake, or the close
}

func newIntake() *intake {
	return &intake{closed: new(request), wake: make(chan struct{}, 1)}
}

// push adds r; it returns false, and leaves r alone, once the intake is
// closed.
func (q *intake) push(r *request) bool {
	for {
		old := q.head.Load()
		if old == q.closed {
			return false
		}
		r.link = old
		if q.head.CompareAndSwap(old, r) {
			if old == nil {
				q.signal()
			}
			return true
		}
	}
}

// close makes every later push fail. Only the first call counts.
func (q *intake) close() {
	for {
		old := q.head.Load()
		if old == q.closed {
			return
		}
		q.closed.link = old
		if q.head.CompareAndSwap(old, q.closed) {
			q.signal()
			return
		}
	}
}

func (q *intake) signal() {
	select {
	case q.wake <- struct{}{}:
	default: // a signal is pending already
	}
}

// take appends every request pushed and not yet taken to dst, oldest
// first, and reports whether the intake is closed. Only the apply loop
// calls it.
func (q *intake) take(dst []*request) (_ []*request, closed bool) {
	var top *request
	for {
		old := q.head.Load()
		if old == q.closed {
			top, q.closed.link, closed = q.closed.link, nil, true
			break
		}
		if old == nil || q.head.CompareAndSwap(old, nil) {
			top = old
			break
		}
	}
	from := len(dst)
	for r := top; r != nil; r = r.link { // the dispatcher clears link once answered
		dst = append(dst, r)
	}
	added := dst[from:]
	for i, j := 0, len(added)-1; i < j; i, j = i+1, j-1 {
		added[i], added[j] = added[j], added[i]
	}
	return dst, closed
}
