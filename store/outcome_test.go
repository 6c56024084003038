package store_test

import (
	"context"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// TestDispatchHandsBackTheOutcome: the dispatcher, and the middleware
// around the reducer once next returned, read what Options.Outcome said
// of the exact states around the action.
func TestDispatchHandsBackTheOutcome(t *testing.T) {
	t.Parallel()
	var seen []actions.Outcome
	s, err := store.Open(context.Background(), counter{}, count, store.Options[counter]{
		Outcome: func(prev, next counter, a *actions.Action) actions.Outcome {
			return actions.Outcome{Applied: next.n > prev.n, User: a.Type + "!", Seq: uint64(next.n * 10)}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Use(func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			err := next(ctx, a)
			seen = append(seen, a.Outcome)
			return err
		}
	})
	for i, typ := range []string{"a", "b"} {
		a := &actions.Action{Type: typ}
		if err := s.Dispatch(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		want := actions.Outcome{Applied: true, User: typ + "!", Seq: uint64(i+1) * 10}
		if a.Outcome != want || seen[i] != want {
			t.Fatalf("outcome = %+v, middleware saw %+v, want %+v", a.Outcome, seen[i], want)
		}
	}
}

func TestDefaultOutcome(t *testing.T) {
	t.Parallel()
	s := store.New(counter{}, count)
	defer s.Close()
	a := &actions.Action{Type: "x", User: "ann"}
	if err := s.Dispatch(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if want := (actions.Outcome{Applied: true, User: "ann", Seq: 1}); a.Outcome != want {
		t.Fatalf("outcome = %+v, want %+v", a.Outcome, want)
	}
}
