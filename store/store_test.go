package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// counter is a tiny state for testing the core: the number of actions and
// the concatenated types.
type counter struct {
	n     int
	types string
}

func count(s counter, a *actions.Action) counter {
	if a.Type == "panic" {
		panic("boom")
	}
	return counter{n: s.n + 1, types: s.types + a.Type}
}

func TestDispatchAssignsSeqInOrder(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	for i := 1; i <= 3; i++ {
		a := &actions.Action{Type: "x"}
		if err := s.Dispatch(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if a.Seq != uint64(i) {
			t.Fatalf("seq = %d, want %d", a.Seq, i)
		}
	}
	if got := s.GetState().n; got != 3 {
		t.Fatalf("state n = %d, want 3", got)
	}
}

func TestSubscribersSeeEveryChangeInOrder(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	var got []store.Change[counter]
	unsubscribe := s.Subscribe(func(c store.Change[counter]) { got = append(got, c) })
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Dispatch(context.Background(), &actions.Action{Type: "x"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	unsubscribe()
	s.Dispatch(context.Background(), &actions.Action{Type: "after"})
	if len(got) != writers*each {
		t.Fatalf("subscriber saw %d changes, want %d", len(got), writers*each)
	}
	for i, c := range got {
		if c.Seq != uint64(i+1) || c.Action.Seq != c.Seq {
			t.Fatalf("change %d has seq %d (action %d)", i, c.Seq, c.Action.Seq)
		}
		if c.Prev.n != i || c.Next.n != i+1 {
			t.Fatalf("change %d: prev %d next %d", i, c.Prev.n, c.Next.n)
		}
	}
}

func TestMiddlewareOrderAndRejection(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	var trace []string
	tag := func(name string) store.Middleware {
		return func(next store.Dispatch) store.Dispatch {
			return func(ctx context.Context, a *actions.Action) error {
				trace = append(trace, name+">")
				err := next(ctx, a)
				trace = append(trace, "<"+name)
				return err
			}
		}
	}
	reject := func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			if a.Type == "bad" {
				return actions.Errorf("nope", "rejected")
			}
			return next(ctx, a)
		}
	}
	s.Use(tag("a"), tag("b"))
	s.Use(reject)
	if err := s.Dispatch(context.Background(), &actions.Action{Type: "ok"}); err != nil {
		t.Fatal(err)
	}
	if want := "a> b> <b <a"; join(trace) != want {
		t.Fatalf("trace = %q, want %q", join(trace), want)
	}
	err := s.Dispatch(context.Background(), &actions.Action{Type: "bad"})
	var e *actions.Error
	if !errors.As(err, &e) || e.Code != "nope" {
		t.Fatalf("err = %v, want code nope", err)
	}
	if s.GetState().types != "ok" {
		t.Fatalf("rejected action reached the reducer: %q", s.GetState().types)
	}
}

// TestReducerPanicChangesNothing: an action whose reducer panics keeps its
// seq (it is in the log, and every replay skips it the same way) but
// changes nothing.
func TestReducerPanicChangesNothing(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	s.Dispatch(context.Background(), &actions.Action{Type: "a"})
	p := &actions.Action{Type: "panic"}
	if err := s.Dispatch(context.Background(), p); err == nil {
		t.Fatal("a panicking reducer returned no error")
	}
	if p.Seq != 2 {
		t.Fatalf("failed action has seq %d, want 2", p.Seq)
	}
	b := &actions.Action{Type: "b"}
	if err := s.Dispatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if b.Seq != 3 || s.GetState().types != "ab" {
		t.Fatalf("after a panic: seq %d, state %q; want 3, \"ab\"", b.Seq, s.GetState().types)
	}
}

// TestBatchAnswersEachDispatcher: many dispatchers at once make batches
// in which some actions fail; each dispatcher gets its own answer, and the
// state, when it returns, includes its action.
func TestBatchAnswersEachDispatcher(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	const dispatchers, each = 300, 20
	var wg sync.WaitGroup
	errs := make(chan error, dispatchers)
	for d := range dispatchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a := &actions.Action{Type: "x"}
				if (d+i)%3 == 0 {
					a.Type = "panic"
				}
				err := s.Dispatch(context.Background(), a)
				switch {
				case (err != nil) != (a.Type == "panic"):
					errs <- fmt.Errorf("dispatcher %d: %s answered %v", d, a.Type, err)
					return
				case a.Seq == 0 || s.Seq() < a.Seq:
					errs <- fmt.Errorf("dispatcher %d: returned with seq %d, store at %d", d, a.Seq, s.Seq())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, want := s.Seq(), uint64(dispatchers*each); got != want {
		t.Fatalf("seq %d, want %d", got, want)
	}
}

func TestCloseAppliesAcceptedAndRefusesNew(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Dispatch(context.Background(), &actions.Action{Type: "x"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if s.GetState().n != 100 {
		t.Fatalf("state n = %d after close, want 100", s.GetState().n)
	}
	if err := s.Dispatch(context.Background(), &actions.Action{Type: "late"}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("dispatch after close: %v, want ErrClosed", err)
	}
}

func TestDispatchHonoursCancelledContext(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Dispatch(ctx, &actions.Action{Type: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s.GetState().n != 0 {
		t.Fatal("a cancelled dispatch was applied")
	}
}

func join(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += " "
		}
		out += p
	}
	return out
}

// TestDispatchDoesNotAllocate: the store's part of a dispatch (the hand-off
// to the apply loop, the answer, the new state) allocates nothing per
// action, whatever the reducer does. Not parallel: AllocsPerRun.
func TestDispatchDoesNotAllocate(t *testing.T) {
	s := store.New(0, func(n int, _ *actions.Action) int { return n + 1 })
	defer s.Close()
	a := &actions.Action{Type: "x"}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		a.Seq = 0
		if err := s.Dispatch(ctx, a); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.1 {
		t.Fatalf("%.2f allocations per dispatch", allocs)
	}
	if got := s.GetState(); got != 1001 {
		t.Fatalf("state = %d, want 1001", got)
	}
}
