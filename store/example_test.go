package store_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// A store holds a state (here a list of words), folds actions into it with
// a pure reducer, and passes every action through its middleware first.
func ExampleStore_Use() {
	// The reducer appends the word an action carries. It returns a new
	// slice: states are never modified, subscribers may hold old ones.
	reduce := func(prev []string, a *actions.Action) []string {
		word, _ := a.Payload.(string)
		return append(prev[:len(prev):len(prev)], word)
	}
	s := store.New([]string(nil), reduce)
	defer s.Close()

	// The middleware transforms (lower-cases) every word and rejects empty
	// ones before they reach the reducer.
	s.Use(func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			word, _ := a.Payload.(string)
			if word == "" {
				return &actions.Error{Code: "empty", Message: "a word, please"}
			}
			a.Payload = strings.ToLower(word)
			return next(ctx, a)
		}
	})
	unsubscribe := s.Subscribe(func(c store.Change[[]string]) {
		fmt.Printf("seq %d: %v -> %v\n", c.Seq, c.Prev, c.Next)
	})
	defer unsubscribe()

	for _, w := range []string{"Hello", "", "WORLD"} {
		if err := s.Dispatch(context.Background(), &actions.Action{Type: "word", Payload: w}); err != nil {
			fmt.Println("rejected:", err)
		}
	}
	fmt.Println(s.GetState(), s.Seq())
	// Output:
	// seq 1: [] -> [hello]
	// rejected: empty: a word, please
	// seq 2: [hello] -> [hello world]
	// [hello world] 2
}
