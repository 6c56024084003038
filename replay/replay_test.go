package replay_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store/file"
)

// cfg is c reading the story's directory with the servers' history.
func (st *rpStory) cfg(c replay.Config) replay.Config {
	c.Dir, c.History = st.dir, 4
	return c
}

// rpTime parses a time as the command's -until-time does.
func rpTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestReplay(t *testing.T) {
	t.Parallel()
	st := rpNewStory(t)
	before := rpHashes(t, st.dir)

	// All of these read the directory of the running server.
	t.Run("live", func(t *testing.T) {
		t.Run("state", func(t *testing.T) { testState(t, st) })
		t.Run("listing", func(t *testing.T) { testListing(t, st) })
		t.Run("diff", func(t *testing.T) { testDiff(t, st) })
		t.Run("verify", func(t *testing.T) { testVerify(t, st, before) })
		t.Run("progress", func(t *testing.T) { testProgress(t, st) })
	})

	if after := rpHashes(t, st.dir); !reflect.DeepEqual(after, before) {
		t.Fatalf("replay changed the data directory of the running server:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := file.Open(st.dir, file.Options{}); err == nil {
		t.Fatal("the server no longer holds the lock of its directory")
	}
	// The server goes on, and replay sees what happens next.
	st.bob.Say("still here")
	msgs := rpField[[]actions.Message](t, st.ann.Expect("messageWritten"), "messagesList")
	last := msgs[len(msgs)-1]
	out := rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{Room: "chat"}}))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	tail := lines[len(lines)-1]
	if last.Seq != 37 || !strings.HasPrefix(out, "state after seq 37\n") || !strings.HasPrefix(tail, fmt.Sprintf("  %8d  ", last.Seq)) || !strings.HasSuffix(tail, "  bob: still here") {
		t.Fatalf("after seq 37: got\n%s\nwant it to end with seq %d's line by bob", out, last.Seq)
	}
}

// testState: the state after a seq or a time, of every room or one.
func testState(t *testing.T, st *rpStory) {
	t.Run("final state, text", func(t *testing.T) {
		t.Parallel()
		want := rpStateText(36, st.seen[36], "chat", "ops")
		if got := rpMust(t, st.cfg(replay.Config{})); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("final state, json", func(t *testing.T) {
		t.Parallel()
		rooms := rpLines[rpRoomJSON](t, rpMust(t, st.cfg(replay.Config{Format: replay.JSON})))
		entered := map[string]uint64{"ann-id": 31, "bob-id": 33, "cat-id": 36}
		if len(rooms) != 2 || rooms[0].Room != "chat" || rooms[1].Room != "ops" {
			t.Fatalf("rooms %+v, want chat and ops", rooms)
		}
		for _, r := range rooms {
			seen := st.seen[36][r.Room]
			for _, p := range r.Users {
				if p.Entered != entered[p.User.ID] || p.Sockets != 1 || p.LeftAt != 0 {
					t.Errorf("room %s: %+v, want entered at %d with 1 socket", r.Room, p, entered[p.User.ID])
				}
			}
			if r.Seq != 36 || !reflect.DeepEqual(r.users(), seen.users) || r.Sockets != seen.sockets || !reflect.DeepEqual(r.Messages, seen.msgs) {
				t.Errorf("room %s: got %+v\nwant users %v, %d sockets, messages %+v", r.Room, r, seen.users, seen.sockets, seen.msgs)
			}
		}
	})
	t.Run("until a seq: what the clients saw then", func(t *testing.T) {
		t.Parallel()
		for _, seq := range []uint64{17, 19, 22, 28} {
			want := rpStateText(seq, st.seen[seq], "chat", "ops")
			if got := rpMust(t, st.cfg(replay.Config{Until: replay.Until{Seq: seq}})); got != want {
				t.Errorf("until %d: got\n%s\nwant\n%s", seq, got, want)
			}
		}
		for _, r := range rpLines[rpRoomJSON](t, rpMust(t, st.cfg(replay.Config{Until: replay.Until{Seq: 19}, Format: replay.JSON}))) {
			if seen := st.seen[19][r.Room]; r.Seq != 19 || !reflect.DeepEqual(r.Messages, seen.msgs) || !reflect.DeepEqual(r.users(), seen.users) || r.Sockets != seen.sockets {
				t.Errorf("until 19, room %s: %+v\nwant messages %+v, users %v", r.Room, r, seen.msgs, seen.users)
			}
		}
		// Past the end: the state after the last action.
		if got, want := rpMust(t, st.cfg(replay.Config{Until: replay.Until{Seq: 1000}})), rpStateText(36, st.seen[36], "chat", "ops"); got != want {
			t.Errorf("until 1000: got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("until a time", func(t *testing.T) {
		t.Parallel()
		back := st.seen[17]["chat"].msgs[2] // "back", seq 17
		want := rpStateText(17, st.seen[17], "chat", "ops")
		for _, at := range []string{back.At.Format(time.RFC3339Nano), back.At.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)} {
			if got := rpMust(t, st.cfg(replay.Config{Until: replay.Until{Time: rpTime(t, at)}})); got != want {
				t.Errorf("until time %s: got\n%s\nwant\n%s", at, got, want)
			}
		}
		// The time column of a listing, pasted as it is.
		listing := rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{Type: "message/write", Room: "chat"}}))
		_, line, _ := strings.Cut(listing, "\n      17  ")
		if got := rpMust(t, st.cfg(replay.Config{Until: replay.Until{Time: rpTime(t, rpTimeColumn.FindString(line))}})); got != want {
			t.Errorf("until the time of the listing's line %q: got\n%s\nwant\n%s", line, got, want)
		}
		first := st.log[0].At.Add(-time.Nanosecond)
		if got := rpMust(t, st.cfg(replay.Config{Until: replay.Until{Time: first}})); got != "state after seq 0\n" {
			t.Errorf("until a time before the first action: %q", got)
		}
		// Whichever limit comes first.
		if got, want := rpMust(t, st.cfg(replay.Config{Until: replay.Until{Time: back.At, Seq: 13}, Filter: replay.Filter{Room: "ops"}})), rpStateText(13, st.seen[17], "ops"); got != want {
			t.Errorf("until 13 before the time: got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("room", func(t *testing.T) {
		t.Parallel()
		ops := replay.Filter{Room: "ops"}
		if got, want := rpMust(t, st.cfg(replay.Config{Filter: ops})), rpStateText(36, st.seen[36], "ops"); got != want {
			t.Errorf("room ops: got\n%s\nwant\n%s", got, want)
		}
		if got, want := rpMust(t, st.cfg(replay.Config{Filter: ops, Until: replay.Until{Seq: 22}})), rpStateText(22, st.seen[22], "ops"); got != want {
			t.Errorf("room ops until 22: got\n%s\nwant\n%s", got, want)
		}
		rooms := rpLines[rpRoomJSON](t, rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{Room: "chat"}, Format: replay.JSON})))
		if len(rooms) != 1 || rooms[0].Room != "chat" || !reflect.DeepEqual(rooms[0].Messages, st.seen[36]["chat"].msgs) {
			t.Errorf("room chat, json: %+v", rooms)
		}
		if got, want := rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{Room: "lobby"}})), "state after seq 36\n\nroom lobby: nothing happened in it\n"; got != want {
			t.Errorf("room lobby: got %q, want %q", got, want)
		}
	})
}
