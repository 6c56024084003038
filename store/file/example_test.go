package file_test

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/file"
)

// intCodec stores an int state as decimal text.
type intCodec struct{}

func (intCodec) Encode(n int) ([]byte, error)    { return strconv.AppendInt(nil, int64(n), 10), nil }
func (intCodec) Decode(data []byte) (int, error) { return strconv.Atoi(string(data)) }

// A store keeps its actions in a file log and its snapshots beside them;
// opening the same directory again recovers the state.
func Example() {
	dir, err := os.MkdirTemp("", "statecast-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	run := func(dispatches int) {
		l, err := file.Open(dir, file.Options{}) // fsync=always, keep everything
		if err != nil {
			panic(err)
		}
		s, err := store.Open(ctx, 0, count, store.Options[int]{Log: l, Snapshots: l, Codec: intCodec{}, SnapshotEvery: 4})
		if err != nil {
			panic(err)
		}
		for range dispatches {
			if err := s.Dispatch(ctx, &actions.Action{Type: actions.TypeOpenSession}); err != nil {
				panic(err)
			}
		}
		fmt.Println("state", s.GetState(), "seq", s.Seq())
		s.Close() // writes a last snapshot and closes the log
	}
	run(10)
	run(3)

	l, err := file.Open(dir, file.Options{ReadOnly: true}) // as `statecast replay` does
	if err != nil {
		panic(err)
	}
	defer l.Close()
	seq, data, _ := l.LatestSnapshot()
	fmt.Printf("log %d..%d, snapshot at %d: %s\n", l.FirstSeq(), l.LastSeq(), seq, data)
	// Output:
	// state 10 seq 10
	// state 13 seq 13
	// log 1..13, snapshot at 13: 13
}
