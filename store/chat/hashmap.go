package chat

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
)

// hashMap is a persistent map from strings to V, for the state's rooms,
// ids, and each room's users and sessions: a hash array mapped trie whose
// nodes have up to 32 slots, picked by 5 bits of the key's hash at a time.
// Set and Delete copy the path from the root to the key (one slice per
// level; a map of up to a few dozen keys is one level) and share the rest.
//
// It replaces github.com/benbjohnson/immutable's Map, which is general but
// slow here: a Get took about 130 ns on a map of 100 session ids (this one,
// about 20), and a Set allocated a handful of objects. Nearly every action
// sets a room, and every message write gets a session. Values of several
// words go in a boxedMap, below.
//
// The zero hashMap is empty. A hashMap is a value; copy it freely.
type hashMap[V any] struct {
	used  uint32        // bit i is set if slot i is in use
	len   int32         // the entries in this node and below
	slots []hashSlot[V] // the used slots, in the order of their bits
}

// hashSlot holds an entry, or (next != nil) a deeper node for the entries
// whose hashes pick the same slot at this depth: always two or more.
type hashSlot[V any] struct {
	key  string
	val  V
	next *hashMap[V]
}

const (
	hashSlotBits = 5                 // bits of the hash that pick one of 32 slots
	hashDepth    = 64 / hashSlotBits // nodes deeper than this are plain lists: every bit of their hashes collides
)

// hashSeed seeds the hashes of the state's keys. It differs from one
// process to the next, which changes only the maps' internal layout:
// whatever the state lists, encodes or compares is sorted or looked up by
// key.
var hashSeed = maphash.MakeSeed()

func hashKey(key string) uint64 { return maphash.String(hashSeed, key) }

// slot returns the bit of the slot that h picks at depth, and the index of
// that slot in m.slots if it is used (where it goes if not).
func (m hashMap[V]) slot(h uint64, depth int) (bit uint32, i int) {
	bit = 1 << (h >> (depth * hashSlotBits) & 31)
	return bit, bits.OnesCount32(m.used & (bit - 1))
}

// Len returns the number of entries.
func (m hashMap[V]) Len() int { return int(m.len) }

// Get returns the value of key.
func (m hashMap[V]) Get(key string) (V, bool) { return m.get(key, hashKey(key)) }

// get, put and remove take the key's hash (and put the hash function, for
// the keys it moves down a level) so that tests can make hashes collide.
func (m hashMap[V]) get(key string, h uint64) (V, bool) {
	for depth := 0; ; depth++ {
		if depth == hashDepth {
			for _, s := range m.slots {
				if s.key == key {
					return s.val, true
				}
			}
			break
		}
		bit, i := m.slot(h, depth)
		if m.used&bit == 0 {
			break
		}
		s := &m.slots[i]
		if s.next == nil {
			if s.key == key {
				return s.val, true
			}
			break
		}
		m = *s.next
	}
	var zero V
	return zero, false
}

// Same reports whether m and o are the same version of a map (and so hold
// the same entries): every change copies the root's slots.
func (m hashMap[V]) Same(o hashMap[V]) bool {
	return m.len == o.len && (m.len == 0 || &m.slots[0] == &o.slots[0])
}

// Set returns the map with key set to v; m is unchanged.
func (m hashMap[V]) Set(key string, v V) hashMap[V] { return m.put(key, v, hashKey(key), 0, hashKey) }

func (m hashMap[V]) put(key string, v V, h uint64, depth int, hash func(string) uint64) hashMap[V] {
	if depth == hashDepth {
		if i := slices.IndexFunc(m.slots, func(s hashSlot[V]) bool { return s.key == key }); i >= 0 {
			m.slots = slices.Clone(m.slots)
			m.slots[i].val = v
			return m
		}
		m.slots = append(slices.Clip(m.slots), hashSlot[V]{key: key, val: v})
		m.len++
		return m
	}
	bit, i := m.slot(h, depth)
	if m.used&bit == 0 {
		m.used |= bit
		m.len++
		m.slots = slices.Insert(slices.Clip(m.slots), i, hashSlot[V]{key: key, val: v})
		return m
	}
	s := m.slots[i]
	m.slots = slices.Clone(m.slots)
	switch {
	case s.next != nil:
		next := s.next.put(key, v, h, depth+1, hash)
		m.len += next.len - s.next.len
		m.slots[i] = hashSlot[V]{next: &next}
	case s.key == key:
		m.slots[i].val = v
	default: // two keys pick this slot: both go a level down
		next := hashMap[V]{}.put(s.key, s.val, hash(s.key), depth+1, hash).put(key, v, h, depth+1, hash)
		m.len++
		m.slots[i] = hashSlot[V]{next: &next}
	}
	return m
}

// Delete returns the map without key; m is unchanged.
func (m hashMap[V]) Delete(key string) hashMap[V] {
	m, _ = m.remove(key, hashKey(key), 0)
	return m
}

func (m hashMap[V]) remove(key string, h uint64, depth int) (hashMap[V], bool) {
	if depth == hashDepth {
		i := slices.IndexFunc(m.slots, func(s hashSlot[V]) bool { return s.key == key })
		if i < 0 {
			return m, false
		}
		m.slots = slices.Delete(slices.Clone(m.slots), i, i+1)
		m.len--
		return m, true
	}
	bit, i := m.slot(h, depth)
	if m.used&bit == 0 {
		return m, false
	}
	s := m.slots[i]
	if s.next == nil {
		if s.key != key {
			return m, false
		}
		m.used &^= bit
		m.len--
		m.slots = slices.Delete(slices.Clone(m.slots), i, i+1)
		return m, true
	}
	next, ok := s.next.remove(key, h, depth+1)
	if !ok {
		return m, false
	}
	m.len--
	m.slots = slices.Clone(m.slots)
	if next.len == 1 { // the one entry left below moves up into this slot
		m.slots[i] = next.slots[0]
	} else {
		m.slots[i] = hashSlot[V]{next: &next}
	}
	return m, true
}

// All yields every entry, in no particular order.
func (m hashMap[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) { m.each(yield) }
}

func (m hashMap[V]) each(yield func(string, V) bool) bool {
	for _, s := range m.slots {
		if s.next != nil {
			if !s.next.each(yield) {
				return false
			}
		} else if !yield(s.key, s.val) {
			return false
		}
	}
	return true
}

// boxedMap is a hashMap whose values sit behind pointers, for values of
// several words (sessions, presences), so that a change copies slots of
// four words rather than of the value's size, as many as 32 at the root.
// Values are copied in and out: nothing outside shares them. The map
// itself sits behind a pointer too, so that a room, copied by every action,
// carries one word per map. The zero boxedMap is empty.
type boxedMap[V any] struct{ m *hashMap[*V] }

// Len returns the number of entries.
func (b boxedMap[V]) Len() int {
	if b.m == nil {
		return 0
	}
	return b.m.Len()
}

// Get returns the value of key.
func (b boxedMap[V]) Get(key string) (V, bool) {
	if b.m != nil {
		if p, ok := b.m.Get(key); ok {
			return *p, true
		}
	}
	var zero V
	return zero, false
}

// Same reports whether b and o are the same version of a map.
func (b boxedMap[V]) Same(o boxedMap[V]) bool { return b.m == o.m || b.Len() == 0 && o.Len() == 0 }

// Set returns the map with key set to v; b is unchanged.
func (b boxedMap[V]) Set(key string, v V) boxedMap[V] {
	var m hashMap[*V]
	if b.m != nil {
		m = *b.m
	}
	m = m.Set(key, &v)
	return boxedMap[V]{&m}
}

// Delete returns the map without key; b is unchanged.
func (b boxedMap[V]) Delete(key string) boxedMap[V] {
	if b.m == nil {
		return b
	}
	m := b.m.Delete(key)
	if m.Same(*b.m) {
		return b
	}
	return boxedMap[V]{&m}
}

// All yields every entry, in no particular order.
func (b boxedMap[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if b.m == nil {
			return
		}
		for k, p := range b.m.All() {
			if !yield(k, *p) {
				return
			}
		}
	}
}
