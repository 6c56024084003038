package inspect

import "sync"

// feed tells live tails that the log grew: it holds the last seq known
// and a channel closed at each change.
type feed struct {
	mu      sync.Mutex
	last    uint64
	changed chan struct{}
}

func newFeed() *feed { return &feed{changed: make(chan struct{})} }

// setLast records that the log's last seq is seq, if that is news.
func (f *feed) setLast(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq <= f.last {
		return
	}
	f.last = seq
	close(f.changed)
	f.changed = make(chan struct{})
}

// lastSeq returns the last seq known.
func (f *feed) lastSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// wait returns the last seq known and a channel closed when it changes.
func (f *feed) wait() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.changed
}
