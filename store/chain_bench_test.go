package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// hops are the chain lengths the benchmarks compare.
var hops = []int{0, 1, 4, 16}

// blockSize is how many dispatches one measured block holds.
const blockSize = 10_000

// noop is a middleware that only passes the action on: the cost of a hop.
func noop(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error { return next(ctx, a) }
}

func chainOf(n int) []store.Middleware {
	mw := make([]store.Middleware, n)
	for i := range mw {
		mw[i] = noop
	}
	return mw
}

// newCountingStore returns an in-memory store with a trivial reducer and n
// no-op middleware.
func newCountingStore(n int) *store.Store[int] {
	s := store.New(0, func(prev int, _ *actions.Action) int { return prev + 1 })
	s.Use(chainOf(n)...)
	return s
}

// BenchmarkChain measures what the middleware chain adds to a dispatch.
//
//	go test -run - -bench Chain -benchmem -count 5 ./store/
//
// store/hops=N dispatches one pre-allocated action through N no-op
// middleware into an in-memory store (apply loop, trivial reducer). Its
// ns/hop is (ns/op − ns/op of the same store without middleware) / N,
// the baseline measured in blocks that alternate with the measured ones.
// The apply loop's two goroutine hand-offs dominate ns/op and vary by
// more than a hop, so this ns/hop stays noisy for small N. bare/hops=N is the chain alone, ending in a
// Dispatch that returns nil: its ns/hop, ns/op / N, is the cost of a hop
// (slightly over: the final call is counted in).
// Targets: under 100 ns per hop, and no allocation added by the chain
// (allocs/op equal for every N).
func BenchmarkChain(b *testing.B) {
	ctx := context.Background()
	for _, n := range hops {
		b.Run(fmt.Sprintf("store/hops=%d", n), func(b *testing.B) {
			s, base := newCountingStore(n), newCountingStore(0)
			defer s.Close()
			defer base.Close()
			a := &actions.Action{Type: "bench", Room: "r"}
			dispatch := func(s *store.Store[int], times int) time.Duration {
				start := time.Now()
				for i := 0; i < times; i++ {
					if err := s.Dispatch(ctx, a); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(start)
			}
			// Blocks of the measured store alternate with blocks of the
			// baseline (timer stopped), so that both see the same drift.
			var took, baseTook time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += blockSize {
				k := min(blockSize, b.N-done)
				b.StartTimer()
				took += dispatch(s, k)
				b.StopTimer()
				if n > 0 {
					baseTook += dispatch(base, k)
				}
			}
			if n > 0 {
				b.ReportMetric(float64(took-baseTook)/float64(b.N)/float64(n), "ns/hop")
			}
		})
	}
	for _, n := range hops {
		b.Run(fmt.Sprintf("bare/hops=%d", n), func(b *testing.B) {
			var d store.Dispatch = func(context.Context, *actions.Action) error { return nil }
			mw := chainOf(n)
			for i := len(mw) - 1; i >= 0; i-- { // as Store.Use composes them
				d = mw[i](d)
			}
			a := &actions.Action{Type: "bench", Room: "r"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
			if n > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/hop")
			}
		})
	}
}
