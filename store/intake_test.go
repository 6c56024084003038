package store

import (
	"sync"
	"testing"
)

// TestIntakeOrderAndClose pushes from many goroutines while the loop's
// side takes: every request comes out exactly once, each goroutine's in
// the order it pushed them, and a push after the close fails while the
// ones before it are still taken. Run it with -race.
func TestIntakeOrderAndClose(t *testing.T) {
	t.Parallel()
	const producers, each = 8, 2000
	q := newIntake()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if !q.push(&request{err: pushed{p, i}}) {
					t.Errorf("push %d of producer %d failed before the close", i, p)
					return
				}
			}
		}()
	}
	closing := make(chan struct{})
	go func() { wg.Wait(); q.close(); close(closing) }()

	next := make([]int, producers)
	var got []*request
	for closed := false; !closed; {
		got, closed = q.take(got[:0])
		for _, r := range got {
			p := r.err.(pushed)
			if p.i != next[p.producer] {
				t.Fatalf("producer %d: took push %d, want %d", p.producer, p.i, next[p.producer])
			}
			next[p.producer]++
		}
		if len(got) == 0 && !closed {
			<-q.wake
		}
	}
	<-closing
	for p, n := range next {
		if n != each {
			t.Errorf("producer %d: took %d of %d", p, n, each)
		}
	}
	if q.push(&request{}) {
		t.Error("a push after the close succeeded")
	}
	if rest, closed := q.take(nil); len(rest) != 0 || !closed {
		t.Errorf("after the close: took %d, closed %v; want none and closed", len(rest), closed)
	}
}

type pushed struct{ producer, i int }

func (pushed) Error() string { return "pushed" }
