package logtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// testReadDuringAppend reads over and over while one goroutine appends
// (as the store does), and checks that every Read sees a consistent prefix:
// seqs 1, 2, … without gaps, each record intact, at least up to the
// LastSeq seen before the Read began.
func testReadDuringAppend(t *testing.T, l store.Log) {
	const batches, size = 200, 5
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for b := range batches {
			if err := l.Append(ctx, samples(b*size, size)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				if err := readPrefix(ctx, l); err != nil {
					t.Errorf("reader %d, read %d: %v", r, reads, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	check(t, l, 1, batches*size)
}

// readPrefix reads the whole log once and checks it is a consistent prefix.
func readPrefix(ctx context.Context, l store.Log) error {
	before := l.LastSeq()
	var seq uint64
	err := l.Read(ctx, 0, func(a *actions.Action) error {
		seq++
		if d := same(*a, want(int(seq-1), seq)); d != "" {
			return fmt.Errorf("record %d: %s", seq, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if seq < before {
		return fmt.Errorf("Read saw %d records, but LastSeq was %d before it began", seq, before)
	}
	if after := l.LastSeq(); seq > after {
		return fmt.Errorf("Read saw %d records, more than LastSeq %d after it", seq, after)
	}
	return nil
}
