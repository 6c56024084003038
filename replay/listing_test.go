package replay_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/replay"
)

// testListing: the actions a filter selects, as text and as JSON lines.
func testListing(t *testing.T, st *rpStory) {
	t.Run("type message/write", func(t *testing.T) {
		t.Parallel()
		want := `       6  <at>  message/write    room=chat user=ann-id message="hi bob"
       7  <at>  message/write    room=chat user=bob-id message="hi ann"
      12  <at>  message/write    room=ops user=cat-id message="deploy at 5"
      13  <at>  message/write    room=ops user=dan-id message="ok"
      17  <at>  message/write    room=chat user=ann-id message="back"
      18  <at>  message/write    room=chat user=bob-id message="one"
      19  <at>  message/write    room=chat user=bob-id message="two"
      22  <at>  message/write    room=ops user=cat-id message="bye dan"
      34  <at>  message/write    room=chat user=bob-id message="welcome back"
`
		if got := st.mask(t, rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{Type: "message/write"}}))); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
		// One object per line, every one an action: jq .payload.Message
		// gives the texts.
		c := replay.Config{Filter: replay.Filter{Type: "message/write", Room: "chat"}, Until: replay.Until{Seq: 19}, Format: replay.JSON}
		lines := rpLines[map[string]any](t, rpMust(t, st.cfg(c)))
		var got []string
		for _, l := range lines {
			p, _ := l["payload"].(map[string]any)
			got = append(got, fmt.Sprintf("%v %v %v %v %v", l["seq"], l["type"], l["room"], l["user"], p["Message"]))
			seq := int(l["seq"].(float64))
			if l["id"] != st.log[seq-1].ID || l["session"] != st.log[seq-1].Session || l["at"] != st.log[seq-1].At.Format(time.RFC3339Nano) {
				t.Errorf("line %v: not the action in the log, %+v", l, st.log[seq-1])
			}
		}
		wantJSON := []string{"6 message/write chat ann-id hi bob", "7 message/write chat bob-id hi ann", "17 message/write chat ann-id back", "18 message/write chat bob-id one", "19 message/write chat bob-id two"}
		if !slices.Equal(got, wantJSON) {
			t.Errorf("json: got %q, want %q", got, wantJSON)
		}
	})
	t.Run("user", func(t *testing.T) {
		t.Parallel()
		want := `       5  <at>  session/connect  room=chat user=bob-id username="bob"
       7  <at>  message/write    room=chat user=bob-id message="hi ann"
      18  <at>  message/write    room=chat user=bob-id message="one"
      19  <at>  message/write    room=chat user=bob-id message="two"
      23  <at>  session/close    room=chat user=bob-id
      24  <at>  presence/expire  room=chat user=bob-id since=23
      33  <at>  session/connect  room=chat user=bob-id username="bob"
      34  <at>  message/write    room=chat user=bob-id message="welcome back"
`
		if got := st.mask(t, rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{User: "bob-id"}}))); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
		if got := rpMust(t, st.cfg(replay.Config{Filter: replay.Filter{User: "bob-id", Room: "ops"}})); got != "" {
			t.Errorf("user bob-id, room ops: %q, want nothing", got)
		}
	})
}

// testDiff: each action with the change it made.
func testDiff(t *testing.T, st *rpStory) {
	t.Parallel()
	// ann: she enters, writes, reloads (her socket closes and another
	// connects: she never leaves the list), leaves past the grace, and
	// comes back after the restart.
	want := `       3  <at>  session/connect  room=chat user=ann-id username="ann"
          + user ann-id (ann) entered the user list
          + socket s1 connected as ann-id
       6  <at>  message/write    room=chat user=ann-id message="hi bob"
          + message 6 ann: "hi bob"
      15  <at>  session/close    room=chat user=ann-id
          - socket s1 of ann-id closed
      16  <at>  session/connect  room=chat user=ann-id username="ann"
          + socket s5 connected as ann-id
      17  <at>  message/write    room=chat user=ann-id message="back"
          + message 17 ann: "back"
      25  <at>  session/close    room=chat user=ann-id
          - socket s5 of ann-id closed
      26  <at>  presence/expire  room=chat user=ann-id since=25
          - user ann-id (ann) left the user list
      31  <at>  session/connect  room=chat user=ann-id username="ann"
          + user ann-id (ann) entered the user list
          + socket s6 connected as ann-id
`
	if got := st.mask(t, rpMust(t, st.cfg(replay.Config{Diff: true, Filter: replay.Filter{User: "ann-id"}}))); got != want {
		t.Errorf("diff, user ann-id: got\n%s\nwant\n%s", got, want)
	}
	want = `      18  <at>  message/write    room=chat user=bob-id message="one"
          + message 18 bob: "one"
      19  <at>  message/write    room=chat user=bob-id message="two"
          + message 19 bob: "two"
          - the oldest message left the window
      20  <at>  session/close    room=ops user=dan-id
          - socket s4 of dan-id closed
      21  <at>  presence/expire  room=ops user=dan-id since=20
          - user dan-id (dan) left the user list
      22  <at>  message/write    room=ops user=cat-id message="bye dan"
          + message 22 cat: "bye dan"
      23  <at>  session/close    room=chat user=bob-id
          - socket s2 of bob-id closed
      24  <at>  presence/expire  room=chat user=bob-id since=23
          - user bob-id (bob) left the user list
      25  <at>  session/close    room=chat user=ann-id
          - socket s5 of ann-id closed
      26  <at>  presence/expire  room=chat user=ann-id since=25
          - user ann-id (ann) left the user list
      27  <at>  session/close    room=ops user=cat-id
          - socket s3 of cat-id closed
      28  <at>  presence/expire  room=ops user=cat-id since=27
          - user cat-id (cat) left the user list
      29  <at>  server/start     room= user=
          (no visible change)
      30  <at>  session/open     room=chat user=
          (no visible change)
`
	// Every action after 17 up to 30, with its change.
	got := st.mask(t, rpMust(t, st.cfg(replay.Config{Diff: true, Until: replay.Until{Seq: 30}})))
	if _, after, _ := strings.Cut(got, "\n      18  "); "      18  "+after != want {
		t.Errorf("diff until 30, from seq 18: got\n%s\nwant\n%s", got, want)
	}
	// The same changes in JSON.
	changes := map[float64]map[string]any{}
	for _, l := range rpLines[map[string]any](t, rpMust(t, st.cfg(replay.Config{Diff: true, Format: replay.JSON, Until: replay.Until{Seq: 22}}))) {
		changes[l["seq"].(float64)], _ = l["change"].(map[string]any)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for seq, want := range map[float64]string{
		2:  `{}`,
		9:  `{"connected":{"id":"` + st.log[7].Session + `","userId":"cat-id","username":"cat","isEstablishingConnection":false,"isConnected":true},"entered":{"id":"cat-id","username":"cat"}}`,
		16: `{"connected":{"id":"` + st.log[13].Session + `","userId":"ann-id","username":"ann","isEstablishingConnection":false,"isConnected":true}}`,
		19: `{"appended":[` + js(st.seen[19]["chat"].msgs[3]) + `],"dropped":1}`,
		21: `{"left":{"id":"dan-id","username":"dan"}}`,
	} {
		var w map[string]any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		if got := changes[seq]; !reflect.DeepEqual(got, w) {
			t.Errorf("change of seq %v: got %s\nwant %s", seq, js(got), want)
		}
	}
	if len(changes) != 22 {
		t.Errorf("diff until 22 listed %d actions, want 22", len(changes))
	}
}
