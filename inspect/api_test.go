package inspect_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/statecast/statecast/inspect"
)

// TestActionsPagedAndFiltered: the timeline comes newest page first, pages
// back by its cursor to the start, and filters by room, type, user and
// text.
func TestActionsPagedAndFiltered(t *testing.T) {
	t.Parallel()
	h := open(t, recorded(t))
	var all page
	if code := get(t, h, "/inspect/api/actions", &all); code != http.StatusOK {
		t.Fatalf("actions: %d", code)
	}
	if len(all.Actions) == 0 || all.Older != 0 || all.Last != all.Actions[len(all.Actions)-1].Seq {
		t.Fatalf("all actions: %+v", all)
	}
	for i, e := range all.Actions {
		if e.Seq != uint64(i+1) || e.At.IsZero() || e.Summary == "" {
			t.Fatalf("entry %d: %+v, want seqs from 1 with a time and a summary", i, e)
		}
	}
	// Pages of 3, from the end back to the start, give the same actions.
	var paged []inspect.Entry
	for before := uint64(0); ; {
		var p page
		get(t, h, fmt.Sprintf("/inspect/api/actions?limit=3&before=%d", before), &p)
		if len(p.Actions) > 3 {
			t.Fatalf("page of %d, want at most 3", len(p.Actions))
		}
		paged = append(p.Actions, paged...)
		if p.Older == 0 {
			break
		}
		before = p.Older
	}
	if len(paged) != len(all.Actions) || paged[0].Seq != 1 {
		t.Fatalf("paged back %d actions from seq %d, want %d from 1", len(paged), paged[0].Seq, len(all.Actions))
	}
	// And forward from a cursor.
	var fwd page
	get(t, h, "/inspect/api/actions?after=2&limit=2", &fwd)
	if len(fwd.Actions) != 2 || fwd.Actions[0].Seq != 3 || fwd.Newer != 4 {
		t.Fatalf("after=2&limit=2: %+v", fwd)
	}
	for query, want := range map[string][]string{
		"type=message/write":            {`writes "hello"`, `writes "hi ann"`, `writes "the cake is a lie"`, `writes "alone here"`},
		"type=message/write&room=s":     {`writes "alone here"`},
		"text=CAKE":                     {`writes "the cake is a lie"`},
		"user=u-cid&type=message/write": {`writes "alone here"`},
	} {
		var p page
		get(t, h, "/inspect/api/actions?"+query, &p)
		var got []string
		for _, e := range p.Actions {
			got = append(got, e.Summary)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %q", query, got, want)
		}
	}
	if code := get(t, h, "/inspect/api/actions?before=x", nil); code != http.StatusBadRequest {
		t.Errorf("before=x: %d, want 400", code)
	}
}

// TestStateChangeAndTime: the state at a seq holds what the log did up to
// it, for one room or all; the change of an action is its diff; a time
// names the last action at or before it.
func TestStateChangeAndTime(t *testing.T) {
	t.Parallel()
	h := open(t, recorded(t))
	var all page
	get(t, h, "/inspect/api/actions?type=message/write&room=r", &all)
	cake := find(t, all, "message/write", `writes "the cake is a lie"`)
	hello := find(t, all, "message/write", `writes "hello"`)

	var st struct {
		Seq   uint64
		Rooms []inspect.RoomView
	}
	get(t, h, fmt.Sprintf("/inspect/api/state?seq=%d&room=r", hello.Seq), &st)
	if st.Seq != hello.Seq || len(st.Rooms) != 1 || len(st.Rooms[0].Messages) != 1 || st.Rooms[0].Messages[0].Message != "hello" {
		t.Fatalf("room r after hello: %+v", st)
	}
	if len(st.Rooms[0].Users) != 2 || st.Rooms[0].Users[0].Sockets != 1 || st.Rooms[0].Sockets != 2 {
		t.Fatalf("room r after hello: users %+v, %d sockets; want ann and bob with a socket each", st.Rooms[0].Users, st.Rooms[0].Sockets)
	}
	get(t, h, fmt.Sprintf("/inspect/api/state?seq=%d", cake.Seq), &st)
	if len(st.Rooms) != 1 || len(st.Rooms[0].Messages) != 3 {
		t.Fatalf("every room after the cake: %+v, want room r alone with three messages", st.Rooms)
	}
	get(t, h, "/inspect/api/state", &st)
	if len(st.Rooms) != 2 {
		t.Fatalf("the last state has %d rooms, want r and s", len(st.Rooms))
	}

	var ch struct {
		Entry inspect.Entry
		Diffs []inspect.DiffView
	}
	get(t, h, fmt.Sprintf("/inspect/api/change?seq=%d", cake.Seq), &ch)
	if ch.Entry.Seq != cake.Seq || len(ch.Diffs) != 1 || len(ch.Diffs[0].Appended) != 1 || ch.Diffs[0].Appended[0].Message != "the cake is a lie" {
		t.Fatalf("change of the cake: %+v", ch)
	}
	if code := get(t, h, "/inspect/api/change?seq=9999", nil); code != http.StatusNotFound {
		t.Errorf("change of a seq past the log: %d, want 404", code)
	}

	var at struct{ Seq uint64 }
	get(t, h, "/inspect/api/seq?time="+url.QueryEscape(cake.At.Format(time.RFC3339Nano)), &at)
	if at.Seq < cake.Seq || at.Seq >= cake.Seq+3 {
		t.Fatalf("seq at the cake's time: %d, want %d or an action of the same instant", at.Seq, cake.Seq)
	}
	get(t, h, "/inspect/api/seq?time=2000-01-01T00:00:00Z", &at)
	if at.Seq != 0 {
		t.Fatalf("seq before the log: %d, want 0", at.Seq)
	}
	if code := get(t, h, "/inspect/api/seq?time=yesterday", nil); code != http.StatusBadRequest {
		t.Errorf("time=yesterday: %d, want 400", code)
	}
}
