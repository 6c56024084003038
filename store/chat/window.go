package chat

import "sync/atomic"

// window is a persistent sequence that grows at the back and shrinks at the
// front: a room's message window, its clientId window. Applying an action
// costs O(1) amortized, not O(window): versions share one backing array.
//
// A version is a slice header over the shared array, items[:end] with the
// capacity of the whole array, and the index start of its first live item;
// its items are items[start:]. Slots below a version's end are written once,
// before the version exists, and never again, so any goroutine may read any
// version while the apply loop makes new ones.
//
// Appending writes the next free slot of the array in place, but only after
// claiming it: claimed counts the slots of the array handed out so far, and
// a version may take slot end only by moving claimed from end to end+1 with
// a CompareAndSwap. So only the newest version of an array appends in
// place; appending to an older one (a fork: the slot after it belongs to a
// newer version already), or to a full array, copies the live items into a
// fresh array with room to grow. Dropping from the front only moves start;
// the dead prefix stays in the array until its next copy. A fresh array has
// room for three times the items it starts with, so a window kept at n
// items copies n items once every 2n or so appends and never holds more
// than about 3n slots.
//
// The zero window is empty. A window is a value; copy it freely.
type window[T any] struct {
	items   []T           // items[start:] are live; cap(items) is the array's
	start   int           // index of the oldest live item
	claimed *atomic.Int64 // slots of the array claimed; shared by its versions, nil with no array
}

// minWindowCap is the least capacity of a fresh array.
const minWindowCap = 8

// windowOf returns a window holding a copy of items, oldest first.
func windowOf[T any](items []T) window[T] {
	return window[T]{}.grow(items, 0)
}

// Len returns the number of live items.
func (w window[T]) Len() int { return len(w.items) - w.start }

// At returns the i-th live item, oldest first, in place: callers must not
// modify it. It panics if i is out of range.
func (w window[T]) At(i int) *T {
	if i < 0 || i >= w.Len() {
		panic("chat: window index out of range")
	}
	return &w.items[w.start+i]
}

// Last returns the newest item in place (not to be modified); ok is false
// if the window is empty.
func (w window[T]) Last() (last *T, ok bool) {
	if w.Len() == 0 {
		return nil, false
	}
	return &w.items[len(w.items)-1], true
}

// Live returns the live items, oldest first. The slice shares the array
// with every version: callers must not modify it. Its capacity ends at its
// length, so appending to it copies.
func (w window[T]) Live() []T { return w.items[w.start:len(w.items):len(w.items)] }

// Same reports whether w and o are the same version: the same array and
// the same live range.
func (w window[T]) Same(o window[T]) bool {
	return w.claimed == o.claimed && w.start == o.start && len(w.items) == len(o.items)
}

// sameArray reports whether w and o share their backing array.
func (w window[T]) sameArray(o window[T]) bool { return w.claimed != nil && w.claimed == o.claimed }

// Append returns the window with v added at the back, and w unchanged.
func (w window[T]) Append(v T) window[T] {
	if next, ok := w.appendInPlace(v); ok {
		return next
	}
	return w.grow(w.Live(), 1).Append(v)
}

// appendInPlace appends v in the array's next slot if w is the newest
// version of its array and the array has room; ok is false otherwise, and
// w's array is left as it was.
func (w window[T]) appendInPlace(v T) (next window[T], ok bool) {
	end := len(w.items)
	if w.claimed == nil || end == cap(w.items) || !w.claimed.CompareAndSwap(int64(end), int64(end)+1) {
		return w, false
	}
	// The slot is ours alone: no version reads it, none will write it.
	w.items = w.items[:end+1]
	w.items[end] = v
	return w, true
}

// DropFront returns the window without its n oldest items (all of them if
// it holds fewer), and w unchanged.
func (w window[T]) DropFront(n int) window[T] {
	w.start += min(max(n, 0), w.Len())
	return w
}

// KeepBack returns the window with only its n newest items.
func (w window[T]) KeepBack(n int) window[T] { return w.DropFront(w.Len() - n) }

// grow returns a window on a fresh array holding live, with room for at
// least extra more items: three times what it holds, so that each copy is
// amortized over twice as many appends as items it copies (with twice,
// copying took an eighth of the apply loop's time at a 100,000-message
// window).
func (window[T]) grow(live []T, extra int) window[T] {
	items := make([]T, len(live), max(3*(len(live)+extra), minWindowCap))
	copy(items, live)
	claimed := new(atomic.Int64)
	claimed.Store(int64(len(items)))
	return window[T]{items: items, claimed: claimed}
}
