package chat

import (
	"fmt"
	"math/rand"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

// testMessage returns the i-th message of a test: texts of varied lengths
// (some empty, some longer than a fresh arena), a time with nanoseconds.
func testMessage(i int) actions.Message {
	m := actions.Message{
		ID:       fmt.Sprint("id-", i),
		UserID:   fmt.Sprint("u", i%3),
		Username: strings.Repeat("n", i%5),
		Message:  strings.Repeat("é", i%7),
		At:       time.Unix(1_700_000_000+int64(i), int64(i)*7919).UTC(),
		Seq:      uint64(i),
	}
	if i%4 == 0 {
		m.ClientID = fmt.Sprint("c", i)
	}
	if i%50 == 0 {
		m.Message = strings.Repeat("long ", 200)
	}
	return m
}

func checkMessages(t *testing.T, what string, w messageWindow, want []actions.Message) {
	t.Helper()
	if w.Len() != len(want) {
		t.Fatalf("%s: Len() = %d, want %d", what, w.Len(), len(want))
	}
	if got := w.All(); !reflect.DeepEqual(got, append([]actions.Message{}, want...)) {
		t.Fatalf("%s: All() = %v, want %v", what, got, want)
	}
	for i, m := range want {
		if got := w.At(i); got != m {
			t.Fatalf("%s: At(%d) = %+v, want %+v", what, i, got, m)
		}
	}
}

// TestMessageWindowVersionsStay keeps every version ever made and appends
// to and trims random ones (forks included): each version must keep
// reading exactly the messages it was made with, texts and times included,
// across many chunks.
func TestMessageWindowVersionsStay(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewSource(seed))
		versions := []messageWindow{{}}
		models := [][]actions.Message{nil}
		next, forks := 0, 0
		const steps = 3000 // some 3,000 messages: chunks fill, forks start fresh ones
		for step := 0; step < steps; step++ {
			i := len(versions) - 1
			if rng.Intn(4) == 0 {
				i = rng.Intn(len(versions))
				if i != len(versions)-1 {
					forks++
				}
			}
			w, m := versions[i], models[i]
			for range rng.Intn(3) {
				next++
				w = w.Append(testMessage(next))
				m = append(slices.Clip(m), testMessage(next))
			}
			if keep := rng.Intn(2) * (1 + rng.Intn(20)); keep > 0 {
				w = w.KeepBack(keep)
				m = m[max(len(m)-keep, 0):]
			}
			versions, models = append(versions, w), append(models, m)
			if step%500 == 0 || step == steps-1 {
				for j := range versions {
					checkMessages(t, fmt.Sprintf("seed %d step %d: version %d", seed, step, j), versions[j], models[j])
				}
			}
		}
		if forks == 0 {
			t.Fatalf("seed %d made no fork", seed)
		}
	}
}

func TestMessageWindowOf(t *testing.T) {
	t.Parallel()
	want := []actions.Message{testMessage(1), testMessage(2), testMessage(50)}
	w := messageWindowOf(want)
	checkMessages(t, "messageWindowOf", w, want)
	checkMessages(t, "then Append", w.Append(testMessage(51)), append(slices.Clone(want), testMessage(51)))
	checkMessages(t, "messageWindowOf(nil)", messageWindowOf(nil), nil)
	checkMessages(t, "Append after dropping all", w.KeepBack(0).Append(testMessage(3)), []actions.Message{testMessage(3)})
}

// TestMessageWindowTimes: a message's At comes back equal (==) to the UTC
// time it was appended with, whatever its range and precision.
func TestMessageWindowTimes(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{
		{},
		time.Now().UTC(), // no monotonic reading: UTC strips it, as the reducer does
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1500, 6, 1, 12, 0, 0, 5, time.UTC),
	} {
		m := actions.Message{ID: "x", At: at}
		if got := (messageWindow{}).Append(m).At(0); got != m {
			t.Errorf("At %v came back as %v", at, got.At)
		}
	}
}

// TestMessageWindowPointerFree: the records hold no pointers, so the
// garbage collector skips the window's largest part.
func TestMessageWindowPointerFree(t *testing.T) {
	t.Parallel()
	if hasPointers(reflect.TypeFor[messageRecord]()) {
		t.Fatal("messageRecord holds pointers")
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// TestMessageWindowAmortized: a window kept at n messages allocates only
// its chunks as it appends (a few objects per chunkRecords messages), never
// copies messages, and holds at most two chunks more than its messages
// fill.
func TestMessageWindowAmortized(t *testing.T) { // not parallel: counts allocations
	const n = 3000
	var w messageWindow
	for i := range 3 * n {
		w = w.Append(testMessage(i % 49)).KeepBack(n)
	}
	m := testMessage(7)
	const chunks = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range chunks * chunkRecords {
		w = w.Append(m).KeepBack(n)
	}
	runtime.ReadMemStats(&after)
	if allocs := after.Mallocs - before.Mallocs; allocs > 4*chunks {
		t.Errorf("%d allocations for %d appends: more than 4 per chunk of %d", allocs, chunks*chunkRecords, chunkRecords)
	}
	if got, most := w.views(), n/chunkRecords+2; got > most {
		t.Errorf("the window holds %d chunks for %d messages, want at most %d", got, n, most)
	}
	checkMessages(t, "after", w.KeepBack(3), []actions.Message{m, m, m})
}

// TestMessageWindowConcurrentForks appends to one version from many
// goroutines at once: exactly one may write in place, and every result
// must hold the base plus its own messages. Run it with -race.
func TestMessageWindowConcurrentForks(t *testing.T) {
	t.Parallel()
	for round := range 100 {
		var base messageWindow
		var want []actions.Message
		for i := range 5 + round%7 + round%2*chunkRecords { // odd rounds: a full chunk and a few

			base, want = base.Append(testMessage(i)), append(want, testMessage(i))
		}
		const forks = 8
		results := make([]messageWindow, forks)
		var wg sync.WaitGroup
		for g := range forks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[g] = base.Append(testMessage(100 + g)).Append(testMessage(200 + g))
			}()
		}
		wg.Wait()
		for g, w := range results {
			checkMessages(t, fmt.Sprintf("round %d fork %d", round, g), w, append(slices.Clone(want), testMessage(100+g), testMessage(200+g)))
		}
		checkMessages(t, "base", base, want)
	}
}

// TestMessageWindowConcurrentReaders reads old versions from other
// goroutines while one goroutine appends and trims. Run it with -race.
func TestMessageWindowConcurrentReaders(t *testing.T) {
	t.Parallel()
	const n, steps, readers = 50, 50_000, 4
	var latest atomic.Pointer[messageWindow]
	latest.Store(&messageWindow{})
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				w := *latest.Load()
				for i := range w.Len() {
					m := w.At(i)
					if want := testMessage(int(m.Seq)); m != want {
						errs <- fmt.Errorf("message %d is %+v, want %+v", i, m, want)
						return
					}
				}
			}
		}()
	}
	var w messageWindow
	for i := 1; i <= steps; i++ {
		w = w.Append(testMessage(i)).KeepBack(n)
		v := w
		latest.Store(&v)
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
