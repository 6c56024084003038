package inspect_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/statecast/statecast/inspect"
)

// TestAcrossCheckpoints: on a log of several checkpoints, pages, states
// and changes read from the index's memory agree with the log.
func TestAcrossCheckpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	buildLog(t, dir, 3000)
	h := open(t, dir)
	for deadline := 0; ; deadline++ {
		var info struct{ Last, Indexed uint64 }
		if get(t, h, "/inspect/api/info", &info); info.Last >= 3000 && info.Indexed == info.Last {
			break
		}
		if deadline > 500 {
			t.Fatalf("not indexed: %+v", info)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var p page
	get(t, h, "/inspect/api/actions?after=250&limit=20", &p)
	if len(p.Actions) != 20 || p.Actions[0].Seq != 251 || p.Actions[19].Seq != 270 || p.Newer != 270 {
		t.Fatalf("after 250: %d actions from %d, newer %d", len(p.Actions), p.Actions[0].Seq, p.Newer)
	}
	get(t, h, "/inspect/api/actions?before=1030&limit=40&room=room7", &p)
	for _, e := range p.Actions {
		if e.Room != "room7" || e.Seq >= 1030 {
			t.Fatalf("before 1030 in room7: %+v", e)
		}
	}
	if len(p.Actions) == 0 {
		t.Fatal("before 1030 in room7: nothing")
	}
	for _, seq := range []uint64{256, 257, 1500, 2999, 3000} {
		var ch struct{ Entry inspect.Entry }
		get(t, h, fmt.Sprintf("/inspect/api/change?seq=%d", seq), &ch)
		var st struct {
			Seq   uint64
			Rooms []inspect.RoomView
		}
		get(t, h, fmt.Sprintf("/inspect/api/state?seq=%d&room=%s", seq, ch.Entry.Room), &st)
		if ch.Entry.Seq != seq || st.Seq != seq || len(st.Rooms) != 1 {
			t.Fatalf("seq %d: change %+v, state at %d with %d rooms", seq, ch.Entry, st.Seq, len(st.Rooms))
		}
		if ch.Entry.Type == "message/write" {
			msgs := st.Rooms[0].Messages
			if last := msgs[len(msgs)-1]; last.Seq != seq || fmt.Sprintf("writes %q", last.Message) != ch.Entry.Summary {
				t.Fatalf("seq %d: the room's last message %+v, want the one written then (%s)", seq, last, ch.Entry.Summary)
			}
		}
	}
}
