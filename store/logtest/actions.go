package logtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// zone is a time zone other than UTC; one value, so that times compare
// equal with ==.
var zone = time.FixedZone("UTC+5:30", 5*3600+1800)

// sample returns the i-th of a varied set of actions: every payload type,
// empty and non-ASCII strings, times with nanoseconds in other zones and
// the zero time.
func sample(i int) *actions.Action {
	a := &actions.Action{
		ID:      fmt.Sprintf("id-%d", i),
		Room:    "room-" + string(rune('a'+i%3)),
		Session: fmt.Sprintf("s%d", i%7),
		User:    fmt.Sprintf("user-%d", i%5),
		At:      time.Date(2024, 2, 29, 23, 59, 58, 123456789+i, zone),
	}
	switch i % 6 {
	case 0:
		a.Type, a.Payload = actions.TypeOpenSession, nil
		a.User = ""
	case 1:
		a.Type, a.Payload = actions.TypeConnect, actions.Connect{Username: fmt.Sprintf("Zoë %d 🙂", i)}
	case 2:
		a.Type, a.Payload = actions.TypeWriteMessage, actions.WriteMessage{Message: fmt.Sprintf("hello\n\"%d\"\x00", i), ClientID: fmt.Sprint(i)}
	case 3:
		a.Type, a.Payload = actions.TypeWriteMessage, actions.WriteMessage{Message: string(make([]byte, 300+i))}
	case 4:
		a.Type, a.Payload = actions.TypeExpirePresence, actions.Expire{Since: uint64(i) << 40}
	case 5:
		a.Type, a.Payload = actions.TypeCloseSession, nil
		a.At = time.Time{}
	}
	return a
}

// want returns what Read must give back for sample(i) appended as seq.
func want(i int, seq uint64) actions.Action {
	a := *sample(i)
	a.Seq = seq
	if !a.At.IsZero() {
		a.At = a.At.UTC()
	}
	return a
}

// samples returns n sample actions, numbered from i.
func samples(i, n int) []*actions.Action {
	batch := make([]*actions.Action, n)
	for k := range batch {
		batch[k] = sample(i + k)
	}
	return batch
}

// same reports how got differs from want, or "".
func same(got, want actions.Action) string {
	switch {
	case got.Seq != want.Seq || got.ID != want.ID || got.Type != want.Type || got.Room != want.Room ||
		got.Session != want.Session || got.User != want.User || got.Payload != want.Payload:
		return fmt.Sprintf("got %+v, want %+v", got, want)
	case !got.At.Equal(want.At):
		return fmt.Sprintf("seq %d: At %v, want %v", want.Seq, got.At, want.At)
	case !got.At.IsZero() && got.At.Location() != time.UTC:
		return fmt.Sprintf("seq %d: At in %v, want UTC", want.Seq, got.At.Location())
	case got.At.Nanosecond() != want.At.Nanosecond():
		return fmt.Sprintf("seq %d: At lost nanoseconds: %v", want.Seq, got.At)
	}
	return ""
}

// readAll reads every record with seq >= from, copying each.
func readAll(t *testing.T, l store.Log, from uint64) []actions.Action {
	t.Helper()
	var got []actions.Action
	if err := l.Read(context.Background(), from, func(a *actions.Action) error {
		got = append(got, *a)
		return nil
	}); err != nil {
		t.Fatalf("Read(%d): %v", from, err)
	}
	return got
}

// appendN appends n sample actions numbered from i in batches of size
// batch, and returns the sample number after the last.
func appendN(t *testing.T, l store.Log, i, n, batch int) int {
	t.Helper()
	for n > 0 {
		k := min(batch, n)
		if err := l.Append(context.Background(), samples(i, k)); err != nil {
			t.Fatalf("Append: %v", err)
		}
		i, n = i+k, n-k
	}
	return i
}

// check verifies that l holds exactly samples 0..n-1 as seqs first..first+n-1.
func check(t *testing.T, l store.Log, first uint64, n int) {
	t.Helper()
	if got, wantLast := l.LastSeq(), first+uint64(n)-1; n > 0 && got != wantLast {
		t.Fatalf("LastSeq() = %d, want %d", got, wantLast)
	}
	got := readAll(t, l, 0)
	if len(got) != n {
		t.Fatalf("Read(0) gave %d records, want %d", len(got), n)
	}
	for k := range got {
		if d := same(got[k], want(k, first+uint64(k))); d != "" {
			t.Fatalf("record %d: %s", k, d)
		}
	}
}
