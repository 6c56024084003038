package transport

import (
	"bytes"
	"testing"
)

// TestV1WindowFitsTheBudget: pushes and drops keep the visible list the
// newest messages that fit, aligned with the room's window.
func TestV1WindowFitsTheBudget(t *testing.T) {
	t.Parallel()
	item := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
	w := v1Window{budget: 30} // 3 items of 9 bytes (10 with the comma)
	for _, c := range []byte("abcd") {
		w.push(item(c, 9))
	}
	want := func(s string) {
		t.Helper()
		var got []byte
		for _, it := range w.list() {
			got = append(got, it[0])
		}
		if string(got) != s {
			t.Fatalf("visible %q, want %q", got, s)
		}
		sum := 0
		for _, it := range w.list() {
			sum += cost(it)
		}
		if sum != w.bytes || sum > w.budget && len(w.list()) > 1 {
			t.Fatalf("bytes %d, counted %d, budget %d", sum, w.bytes, w.budget)
		}
	}
	want("bcd")
	w.drop(1) // a, already cut, leaves the state
	want("bcd")
	w.drop(2) // b and c leave the state
	want("d")
	w.push(item('e', 29)) // too big to share: d is cut
	want("e")
	w.push(item('f', 40)) // alone over the budget: still sent
	want("f")
	w.drop(5)
	want("")
}
