package chat

import (
	"fmt"
	"maps"
	"math/rand"
	"testing"
)

// Hash functions that make keys collide: at the first levels, or in every
// bit, so that the plain lists at the bottom of the trie are used.
var testHashes = map[string]func(string) uint64{
	"maphash":      hashKey,
	"low bits":     func(k string) uint64 { return hashKey(k) &^ 0x3ff }, // the first two levels collide
	"few values":   func(k string) uint64 { return hashKey(k) % 5 },
	"all the same": func(string) uint64 { return 42 },
}

func setWith[V any](m hashMap[V], key string, v V, hash func(string) uint64) hashMap[V] {
	return m.put(key, v, hash(key), 0, hash)
}

func deleteWith[V any](m hashMap[V], key string, hash func(string) uint64) hashMap[V] {
	m, _ = m.remove(key, hash(key), 0)
	return m
}

// checkHashMap compares m with the model, entry by entry, and checks the
// trie's invariants: counts add up, and every node below the root holds
// at least two entries.
func checkHashMap(t *testing.T, what string, m hashMap[int], model map[string]int, hash func(string) uint64) {
	t.Helper()
	if m.Len() != len(model) {
		t.Fatalf("%s: Len() = %d, want %d", what, m.Len(), len(model))
	}
	for k, want := range model {
		if got, ok := m.get(k, hash(k)); !ok || got != want {
			t.Fatalf("%s: get(%s) = %d, %v; want %d", what, k, got, ok, want)
		}
	}
	for _, k := range []string{"", "absent", "k-1"} {
		if _, ok := model[k]; !ok {
			if got, ok := m.get(k, hash(k)); ok {
				t.Fatalf("%s: get(%q) = %d, want nothing", what, k, got)
			}
		}
	}
	all := maps.Collect(m.All())
	if !maps.Equal(all, model) {
		t.Fatalf("%s: All() = %v, want %v", what, all, model)
	}
	var walk func(n hashMap[int], depth int) int
	walk = func(n hashMap[int], depth int) int {
		count := 0
		for _, s := range n.slots {
			if s.next != nil {
				sub := walk(*s.next, depth+1)
				if sub < 2 {
					t.Fatalf("%s: a node at depth %d holds %d entries", what, depth+1, sub)
				}
				count += sub
			} else {
				count++
			}
		}
		if count != n.Len() {
			t.Fatalf("%s: a node at depth %d counts %d entries and holds %d", what, depth, n.Len(), count)
		}
		return count
	}
	walk(m, 0)
}

// TestHashMap applies random sets and deletes to random versions of a map
// (forks included) and checks every version against a Go map, with real
// hashes and with colliding ones.
func TestHashMap(t *testing.T) {
	t.Parallel()
	for name, hash := range testHashes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewSource(1))
			versions := []hashMap[int]{{}}
			models := []map[string]int{{}}
			for step := 0; step < 3000; step++ {
				i := len(versions) - 1
				if rng.Intn(4) == 0 {
					i = rng.Intn(len(versions))
				}
				m, model := versions[i], maps.Clone(models[i])
				key := fmt.Sprint("k", rng.Intn(150))
				if rng.Intn(3) == 0 {
					m = deleteWith(m, key, hash)
					delete(model, key)
				} else {
					m = setWith(m, key, step, hash)
					model[key] = step
				}
				versions, models = append(versions, m), append(models, model)
				if step%500 == 0 || step == 2999 {
					for j := range versions {
						checkHashMap(t, fmt.Sprintf("step %d, version %d", step, j), versions[j], models[j], hash)
					}
				}
			}
			// Empty it again.
			m, model := versions[len(versions)-1], maps.Clone(models[len(models)-1])
			for k := range models[len(models)-1] {
				m = deleteWith(m, k, hash)
				delete(model, k)
				checkHashMap(t, "emptying", m, model, hash)
			}
			if len(m.slots) != 0 || m.used != 0 {
				t.Fatalf("an empty map holds %d slots (bits %b)", len(m.slots), m.used)
			}
		})
	}
}

func TestHashMapPublic(t *testing.T) {
	t.Parallel()
	var m hashMap[string]
	a := m.Set("a", "1")
	b := a.Set("b", "2")
	c := b.Set("a", "3").Delete("b")
	if v, ok := a.Get("a"); !ok || v != "1" {
		t.Fatalf(`a.Get("a") = %q, %v`, v, ok)
	}
	if _, ok := a.Get("b"); ok {
		t.Fatal("a version sees a later Set")
	}
	if v, _ := b.Get("a"); v != "1" || b.Len() != 2 {
		t.Fatal("a version sees a later change")
	}
	if v, _ := c.Get("a"); v != "3" || c.Len() != 1 {
		t.Fatalf("c = %v", maps.Collect(c.All()))
	}
	if !m.Same(hashMap[string]{}) || !a.Same(a) || a.Same(b) || b.Same(b.Set("a", "1")) || !b.Same(b.Delete("zzz")) {
		t.Fatal("Same is wrong")
	}
	if !a.Delete("a").Same(m) {
		t.Fatal("two empty maps are not the same")
	}
}

func TestBoxedMap(t *testing.T) {
	t.Parallel()
	type pair struct{ A, B int }
	var m boxedMap[pair]
	if _, ok := m.Get("x"); ok || m.Len() != 0 || !m.Same(boxedMap[pair]{}) || !m.Same(m.Delete("x")) {
		t.Fatal("the zero boxedMap is not empty")
	}
	a := m.Set("x", pair{1, 2})
	got, _ := a.Get("x")
	got.A = 99 // a copy
	if again, _ := a.Get("x"); again != (pair{1, 2}) {
		t.Fatal("changing a value got from the map changed the map")
	}
	b := a.Set("y", pair{3, 4})
	if a.Len() != 1 || b.Len() != 2 || a.Same(b) || !b.Same(b) || !b.Same(b.Delete("zzz")) {
		t.Fatal("versions interfere")
	}
	if c := b.Delete("x").Delete("y"); c.Len() != 0 || !c.Same(m) {
		t.Fatal("emptied map is not empty")
	}
	if all := maps.Collect(b.All()); !maps.Equal(all, map[string]pair{"x": {1, 2}, "y": {3, 4}}) {
		t.Fatalf("All() = %v", all)
	}
}
