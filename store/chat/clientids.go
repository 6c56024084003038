package chat

import "sync"

// clientIDWindow is a room's clientId window: the keys (user id, NUL,
// clientId) of the newest messages written with a clientId, with their
// seqs, oldest first, and an index that finds a key in O(1).
//
// The index belongs to the entries' backing array and is shared by every
// version of it: it maps each key ever appended to the array to the slot it
// was last appended at. Slots are claimed in order, and a version exists
// only once its slots are indexed, so for any version a key's indexed slot
// is at or after the key's newest slot in the version. Hence a lookup is
// exact when the slot is inside the version (found) or before its first
// live entry (not there), or when the key was never indexed (not there).
// Only when the slot is past the version's end (the version is not the
// newest of its array, as after a fork) does it scan the version's entries.
//
// The zero clientIDWindow is empty. Other goroutines (sockets acking a
// re-sent write) read versions while the apply loop makes new ones, so the
// index map is guarded by a lock; the entries need none (see window).
type clientIDWindow struct {
	entries window[clientIDEntry]
	index   *clientIDIndex // shared by the versions of entries' array; nil if empty
}

type clientIDEntry struct {
	key string
	seq uint64
}

type clientIDIndex struct {
	mu   sync.RWMutex
	slot map[string]int // key → index in the array of its last append
}

// clientIDWindowOf returns a clientId window holding entries, oldest
// first, each key once.
func clientIDWindowOf(entries []clientIDEntry) clientIDWindow {
	if len(entries) == 0 {
		return clientIDWindow{}
	}
	w := windowOf(entries)
	return clientIDWindow{entries: w, index: indexOf(w)}
}

// indexOf indexes every slot of w's array, which must be fresh: nothing
// else holds it yet.
func indexOf(w window[clientIDEntry]) *clientIDIndex {
	idx := &clientIDIndex{slot: make(map[string]int, cap(w.items))}
	for i, e := range w.items {
		idx.slot[e.key] = i
	}
	return idx
}

// Entries returns the entries, oldest first; callers must not modify them.
func (d clientIDWindow) Entries() []clientIDEntry { return d.entries.Live() }

// Get returns the seq remembered for key.
func (d clientIDWindow) Get(key string) (seq uint64, ok bool) {
	if d.entries.Len() == 0 {
		return 0, false
	}
	d.index.mu.RLock()
	i, indexed := d.index.slot[key]
	d.index.mu.RUnlock()
	switch items := d.entries.items; {
	case !indexed || i < d.entries.start:
		return 0, false
	case i < len(items) && items[i].key == key:
		return items[i].seq, true
	}
	return d.scan(key)
}

// scan looks for key among the entries, newest first.
func (d clientIDWindow) scan(key string) (uint64, bool) {
	live := d.entries.Live()
	for i := len(live) - 1; i >= 0; i-- {
		if live[i].key == key {
			return live[i].seq, true
		}
	}
	return 0, false
}

// Add returns the window with key (which it must not hold) remembered at
// seq, keeping only the newest limit keys; d is unchanged.
func (d clientIDWindow) Add(key string, seq uint64, limit int) clientIDWindow {
	next := d.entries.Append(clientIDEntry{key: key, seq: seq})
	if next.sameArray(d.entries) {
		d.index.mu.Lock()
		d.index.slot[key] = len(next.items) - 1
		d.index.mu.Unlock()
	} else {
		d.index = indexOf(next)
	}
	d.entries = next.KeepBack(limit)
	return d
}
