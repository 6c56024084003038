package chat

import (
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// op is one step of a window test: append v (n times, counting up), drop
// from the front, or keep the newest k.
type op struct {
	appendN, drop, keep int
}

func (o op) apply(w window[int], model []int, next *int) (window[int], []int) {
	for range o.appendN {
		*next++
		w = w.Append(*next)
		model = append(slices.Clip(model), *next)
	}
	if o.drop > 0 {
		w = w.DropFront(o.drop)
		model = model[min(o.drop, len(model)):]
	}
	if o.keep > 0 {
		w = w.KeepBack(o.keep)
		model = model[max(len(model)-o.keep, 0):]
	}
	return w, model
}

func checkWindow(t *testing.T, what string, w window[int], want []int) {
	t.Helper()
	if w.Len() != len(want) {
		t.Fatalf("%s: Len() = %d, want %d", what, w.Len(), len(want))
	}
	if got := w.Live(); !slices.Equal(got, want) && len(want)+len(got) > 0 {
		t.Fatalf("%s: Live() = %v, want %v", what, got, want)
	}
	for i, v := range want {
		if got := *w.At(i); got != v {
			t.Fatalf("%s: At(%d) = %d, want %d", what, i, got, v)
		}
	}
	last, ok := w.Last()
	if ok != (len(want) > 0) || ok && *last != want[len(want)-1] {
		t.Fatalf("%s: Last() = %v, %v; want the last of %v", what, last, ok, want)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ops  []op
	}{
		{"empty", nil},
		{"one", []op{{appendN: 1}}},
		{"grows past several arrays", []op{{appendN: 100}}},
		{"drop some", []op{{appendN: 5}, {drop: 2}}},
		{"drop all", []op{{appendN: 5}, {drop: 5}}},
		{"drop more than held", []op{{appendN: 3}, {drop: 10}}},
		{"drop from empty", []op{{drop: 1}}},
		{"append after dropping all", []op{{appendN: 5}, {drop: 5}, {appendN: 2}}},
		{"keep the newest", []op{{appendN: 10}, {keep: 3}}},
		{"keep more than held", []op{{appendN: 2}, {keep: 3}}},
		{"sliding window of 1", []op{{appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}, {appendN: 1, keep: 1}}},
		{"long sliding window", slices.Repeat([]op{{appendN: 1, keep: 7}}, 200)},
		{"batches and trims", slices.Repeat([]op{{appendN: 13, keep: 20}, {drop: 3}}, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var w window[int]
			var model []int
			next := 0
			for i, o := range tt.ops {
				w, model = o.apply(w, model, &next)
				checkWindow(t, fmt.Sprint("after op ", i), w, model)
			}
		})
	}
}

func TestWindowOf(t *testing.T) {
	t.Parallel()
	src := []int{1, 2, 3}
	w := windowOf(src)
	src[0] = 99 // the window holds a copy
	checkWindow(t, "windowOf", w, []int{1, 2, 3})
	checkWindow(t, "windowOf then Append", w.Append(4), []int{1, 2, 3, 4})
	checkWindow(t, "windowOf(nil)", windowOf[int](nil), nil)
	checkWindow(t, "Append to windowOf(nil)", windowOf[int](nil).Append(1), []int{1})
}

// TestWindowVersionsStay keeps every version ever made and applies random
// steps to random ones (forks included): each version must keep reading
// exactly as when it was made.
func TestWindowVersionsStay(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		versions := []window[int]{{}}
		models := [][]int{nil}
		next := 0
		forks := 0
		for step := 0; step < 600; step++ {
			i := len(versions) - 1 // mostly the newest, as the apply loop does
			if rng.Intn(4) == 0 {
				i = rng.Intn(len(versions))
				if i != len(versions)-1 {
					forks++
				}
			}
			o := op{appendN: rng.Intn(3), drop: rng.Intn(4) / 3, keep: rng.Intn(2) * (1 + rng.Intn(20))}
			w, m := o.apply(versions[i], models[i], &next)
			versions, models = append(versions, w), append(models, m)
			if step%50 == 0 || step == 599 {
				for j := range versions {
					checkWindow(t, fmt.Sprintf("seed %d step %d: version %d", seed, step, j), versions[j], models[j])
				}
			}
		}
		if forks == 0 {
			t.Fatalf("seed %d made no fork", seed)
		}
	}
}

// TestWindowForkCopies: appending to a version that is not the newest of
// its array must leave the newer one alone, and two appends to one version
// give two independent windows.
func TestWindowForkCopies(t *testing.T) {
	t.Parallel()
	base := window[int]{}.Append(1).Append(2)
	x := base.Append(3)
	y := base.Append(4) // slot 2 is x's: y must copy
	z := base.DropFront(1).Append(5)
	checkWindow(t, "base", base, []int{1, 2})
	checkWindow(t, "x", x, []int{1, 2, 3})
	checkWindow(t, "y", y, []int{1, 2, 4})
	checkWindow(t, "z", z, []int{2, 5})
	if !x.sameArray(base) || y.sameArray(base) || z.sameArray(base) {
		t.Fatal("only the first append to base may share its array")
	}
	x6 := x.Append(6)
	checkWindow(t, "x grows on", x6, []int{1, 2, 3, 6})
	if !x6.sameArray(base) {
		t.Fatal("the newest version should append in place")
	}
}

func TestWindowSame(t *testing.T) {
	t.Parallel()
	var empty window[int]
	a := empty.Append(1)
	b := a.Append(2)
	switch {
	case !empty.Same(window[int]{}), !a.Same(a), !b.Same(b):
		t.Fatal("a version is not the same as itself")
	case a.Same(b), b.Same(a), a.Same(empty), b.Same(b.DropFront(1)), b.Same(windowOf([]int{1, 2})):
		t.Fatal("different versions are the same")
	}
}

// TestWindowAmortized: a window kept at n items copies its items about
// once per 2n appends, and its array stays within 3n slots.
func TestWindowAmortized(t *testing.T) { // not parallel: AllocsPerRun
	for _, n := range []int{1, 10, 1000} {
		w := window[int]{}
		for i := range 3 * n {
			w = w.Append(i).KeepBack(n)
		}
		const rounds = 20
		copies := 0
		for i := range rounds * (n + 1) {
			next := w.Append(i).KeepBack(n)
			if !next.sameArray(w) {
				copies++
			}
			if cap(next.items) > 3*(n+1)+minWindowCap {
				t.Fatalf("n=%d: the array holds %d slots", n, cap(next.items))
			}
			w = next
		}
		if copies > rounds/2+1 {
			t.Errorf("n=%d: %d copies in %d appends", n, copies, rounds*(n+1))
		}
		if allocs := testing.AllocsPerRun(100, func() { w = w.Append(1).KeepBack(n) }); n >= 100 && allocs > 0 {
			t.Errorf("n=%d: %.2f allocations per append", n, allocs)
		}
	}
}

// TestWindowConcurrentReaders reads old versions from other goroutines
// while one goroutine appends and trims, as subscribers and sockets read
// states while the apply loop makes new ones. Run it with -race.
func TestWindowConcurrentReaders(t *testing.T) {
	t.Parallel()
	const n, steps, readers = 50, 200_000, 4
	type version struct {
		w     window[int]
		first int // the value of its oldest item; items count up by one
	}
	var latest atomic.Pointer[version]
	latest.Store(&version{})
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []*version // older versions, read again later
			for !done.Load() {
				v := latest.Load()
				held = append(held, v)
				if len(held) > 64 {
					held = held[1:]
				}
				for _, h := range held {
					for i, x := range h.w.Live() {
						if x != h.first+i {
							errs <- fmt.Errorf("a version changed: item %d is %d, want %d", i, x, h.first+i)
							return
						}
					}
				}
			}
		}()
	}
	w := window[int]{}
	for i := 1; i <= steps; i++ {
		w = w.Append(i).KeepBack(n)
		latest.Store(&version{w: w, first: *w.At(0)})
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestWindowConcurrentForks appends to one version from many goroutines at
// once: exactly one may take the next slot in place, and every result must
// hold the base plus its own item.
func TestWindowConcurrentForks(t *testing.T) {
	t.Parallel()
	for round := range 200 {
		base := window[int]{}
		for i := range 5 + round%7 {
			base = base.Append(i)
		}
		want := slices.Clone(base.Live())
		const forks = 8
		results := make([]window[int], forks)
		var inPlace atomic.Int32
		var wg sync.WaitGroup
		for g := range forks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := base.Append(100 + g)
				if w.sameArray(base) {
					inPlace.Add(1)
				}
				results[g] = w.Append(200 + g)
			}()
		}
		wg.Wait()
		for g, w := range results {
			checkWindow(t, fmt.Sprintf("round %d fork %d", round, g), w, append(slices.Clone(want), 100+g, 200+g))
		}
		checkWindow(t, "base", base, want)
		if spare := cap(base.items) > len(base.items); spare && inPlace.Load() != 1 || !spare && inPlace.Load() != 0 {
			t.Fatalf("round %d: %d forks appended in place", round, inPlace.Load())
		}
	}
}

// clientIDModel is the obvious clientId window: a list scanned in full.
type clientIDModel []clientIDEntry

func (m clientIDModel) get(key string) (uint64, bool) {
	for _, e := range m {
		if e.key == key {
			return e.seq, true
		}
	}
	return 0, false
}

func checkClientIDs(t *testing.T, what string, w clientIDWindow, m clientIDModel, keys int) {
	t.Helper()
	if got := w.Entries(); !slices.Equal(got, m) && len(got)+len(m) > 0 {
		t.Fatalf("%s: entries %v, want %v", what, got, m)
	}
	for k := range keys {
		key := fmt.Sprint("k", k)
		seq, ok := w.Get(key)
		wantSeq, wantOK := m.get(key)
		if seq != wantSeq || ok != wantOK {
			t.Fatalf("%s: Get(%s) = %d, %v; want %d, %v", what, key, seq, ok, wantSeq, wantOK)
		}
	}
}

func TestClientIDWindow(t *testing.T) {
	t.Parallel()
	var w clientIDWindow
	checkClientIDs(t, "empty", w, nil, 3)
	w = w.Add("k0", 1, 3).Add("k1", 2, 3).Add("k2", 3, 3)
	checkClientIDs(t, "full", w, clientIDModel{{"k0", 1}, {"k1", 2}, {"k2", 3}}, 5)
	w = w.Add("k3", 4, 3)
	checkClientIDs(t, "the oldest forgotten", w, clientIDModel{{"k1", 2}, {"k2", 3}, {"k3", 4}}, 5)
	w = w.Add("k0", 5, 3)
	checkClientIDs(t, "a forgotten key again", w, clientIDModel{{"k2", 3}, {"k3", 4}, {"k0", 5}}, 5)
	back := clientIDWindowOf(w.Entries())
	checkClientIDs(t, "rebuilt", back, clientIDModel{{"k2", 3}, {"k3", 4}, {"k0", 5}}, 5)
	checkClientIDs(t, "rebuilt, then added to", back.Add("k1", 6, 3), clientIDModel{{"k3", 4}, {"k0", 5}, {"k1", 6}}, 5)
	checkClientIDs(t, "clientIDWindowOf(nil)", clientIDWindowOf(nil), nil, 5)
}

// TestClientIDWindowVersionsStay is TestWindowVersionsStay for the clientId
// window: lookups in any version, forks included, agree with a full scan,
// with keys forgotten and used again.
func TestClientIDWindowVersionsStay(t *testing.T) {
	t.Parallel()
	const keys = 12
	older := 0
	for seed := int64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewSource(seed))
		limit := 1 + rng.Intn(6)
		versions := []clientIDWindow{{}}
		models := []clientIDModel{nil}
		for seq := uint64(1); seq <= 500; seq++ {
			i := len(versions) - 1
			if rng.Intn(3) == 0 {
				i = rng.Intn(len(versions))
			}
			w, m := versions[i], models[i]
			key := fmt.Sprint("k", rng.Intn(keys))
			if _, dup := m.get(key); dup {
				continue // the reducer adds only keys it does not hold
			}
			w = w.Add(key, seq, limit)
			m = append(slices.Clip(m), clientIDEntry{key, seq})
			m = m[max(len(m)-limit, 0):]
			versions, models = append(versions, w), append(models, m)
			if seq%100 == 0 {
				for j := range versions {
					checkClientIDs(t, fmt.Sprintf("seed %d seq %d: version %d", seed, seq, j), versions[j], models[j], keys)
					if e := versions[j].entries; e.Len() > 0 && int64(len(e.items)) < e.claimed.Load() {
						older++ // not the newest of its array: lookups may scan
					}
				}
			}
		}
	}
	if older == 0 {
		t.Fatal("no version older than the newest of its array was looked at")
	}
}

// TestClientIDWindowConcurrentReaders looks keys up in old versions from
// other goroutines while one goroutine adds keys. Run it with -race.
func TestClientIDWindowConcurrentReaders(t *testing.T) {
	t.Parallel()
	const limit, steps, readers = 20, 10_000, 4
	type version struct {
		w    clientIDWindow
		last int // keys k(last-limit+1) … k(last) are in it
	}
	var latest atomic.Pointer[version]
	latest.Store(&version{last: -1})
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(r)))
			var held []*version
			for !done.Load() {
				held = append(held, latest.Load())
				if len(held) > 32 {
					held = held[1:]
				}
				h := held[rng.Intn(len(held))]
				k := h.last - limit - 2 + rng.Intn(limit+4)
				seq, ok := h.w.Get(fmt.Sprint("k", k))
				want := k >= 0 && k <= h.last && k > h.last-limit
				if ok != want || ok && seq != uint64(k+1) {
					errs <- fmt.Errorf("version with k%d last: Get(k%d) = %d, %v", h.last, k, seq, ok)
					return
				}
			}
		}()
	}
	var w clientIDWindow
	for k := range steps {
		w = w.Add(fmt.Sprint("k", k), uint64(k+1), limit)
		latest.Store(&version{w: w, last: k})
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
