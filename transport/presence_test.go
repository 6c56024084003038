package transport_test

// docs/protocol.md's v1 rules on presence (rules 1 and 2), the history
// window (rule 5) and rooms, end to end.

import (
	"fmt"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// Rule 1: connectedUserList lists each id once, however many tabs, and
// includes the caller.
func TestUserListEachIDOnce(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	_, e := s.Join(t, "/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann"})
	_, e = s.Join(t, "/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann"})
	_, e = s.Join(t, "/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann"})
	_, e = s.Join(t, "/chat", "bob-id", "bob")
	wantConnected(t, e, "bob-id", "bob", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	_, e = s.Join(t, "/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	_, e = s.Join(t, "/chat", "bob-id", "bob")
	wantConnected(t, e, "bob-id", "bob", map[string]string{"ann-id": "ann", "bob-id": "bob"})
}

// Rule 2: joined goes to every other socket when an id enters, never to the
// socket that connected.
func TestJoinedOnlyToOthers(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, e := s.Join(t, "/chat", "bob-id", "bob")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob"})
	expectPresence(t, ann, "joined", "bob-id", "bob")
	carol, _ := s.Join(t, "/chat", "carol-id", "carol")
	expectPresence(t, ann, "joined", "carol-id", "carol")
	expectPresence(t, bob, "joined", "carol-id", "carol")
	// The next frame of each is the message, so nobody got a joined for
	// themselves (or one too many).
	carol.Say("hi")
	for _, c := range []*chattest.Client{ann, bob, carol} {
		wantTexts(t, expectWritten(t, c), "hi")
	}
}

// Rule 2: a second tab of a present id is not announced.
func TestSecondTabNotJoined(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann1, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann1, "joined", "bob-id", "bob")
	_, e := s.Join(t, "/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	// A joined for the second tab would be queued before carol's.
	s.Join(t, "/chat", "carol-id", "carol")
	expectPresence(t, bob, "joined", "carol-id", "carol")
	expectPresence(t, ann1, "joined", "carol-id", "carol")
}

// Rule 2: closing one of two tabs announces nothing, even after the grace
// period; the user stays listed.
func TestClosingOneOfTwoTabs(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := chattest.Start(t, server.Config{Grace: grace})
	ann1, _ := s.Join(t, "/chat", "ann-id", "ann")
	ann2, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann1, "joined", "bob-id", "bob")
	expectPresence(t, ann2, "joined", "bob-id", "bob")
	ann2.Close()
	nothingFor(t, bob, 3*grace)
	nothingFor(t, ann1, 0)
	_, e := s.Join(t, "/chat", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"})
	expectPresence(t, bob, "joined", "carol-id", "carol")
	expectPresence(t, ann1, "joined", "carol-id", "carol")
	// The remaining tab still works.
	ann1.Say("still here")
	wantTexts(t, expectWritten(t, bob), "still here")
}

// Rule 2: closing the last tab announces disconnected to the others once the
// grace period is over, not before; whether the socket closed cleanly or
// just dropped.
func TestDisconnectedAfterGrace(t *testing.T) {
	t.Parallel()
	const grace = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		close func(*chattest.Client)
	}{
		{"close frame", func(c *chattest.Client) { c.Close() }},
		{"dropped", func(c *chattest.Client) { c.CloseNow() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{Grace: grace})
			ann, _ := s.Join(t, "/chat", "ann-id", "ann")
			bob1, _ := s.Join(t, "/chat", "bob-id", "bob")
			bob2, _ := s.Join(t, "/chat", "bob-id", "bob")
			expectPresence(t, ann, "joined", "bob-id", "bob")
			start := time.Now()
			tc.close(ann)
			for _, c := range []*chattest.Client{bob1, bob2} {
				expectPresence(t, c, "disconnected", "ann-id", "ann")
			}
			if took := time.Since(start); took < grace || took > grace+2*time.Second {
				t.Fatalf("disconnected came %v after the close, want between %v and %v", took, grace, grace+2*time.Second)
			}
			// Exactly one disconnected each, and ann has left the list.
			_, e := s.Join(t, "/chat", "carol-id", "carol")
			wantUsers(t, e, map[string]string{"bob-id": "bob", "carol-id": "carol"})
			expectPresence(t, bob1, "joined", "carol-id", "carol")
			expectPresence(t, bob2, "joined", "carol-id", "carol")
		})
	}
}

// Rule 2: a user in the grace period is still in the user list.
func TestListedDuringGrace(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 3 * time.Second})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann, "joined", "bob-id", "bob")
	ann.Close()
	time.Sleep(200 * time.Millisecond) // let the server see the close
	_, e := s.Join(t, "/chat", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"})
	expectPresence(t, bob, "joined", "carol-id", "carol")
}

// Rule 2: a reload inside the grace period (close, then the same id comes
// back) produces neither disconnected nor joined, then or later.
func TestReloadInsideGrace(t *testing.T) {
	t.Parallel()
	const grace = time.Second
	s := chattest.Start(t, server.Config{Grace: grace})
	ann, _ := s.Join(t, "/chat", "1700000000000", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann, "joined", "bob-id", "bob")
	ann.Say("before")
	wantTexts(t, expectWritten(t, ann), "before")
	wantTexts(t, expectWritten(t, bob), "before")

	ann.Close()
	ann2, e := s.Join(t, "/chat", "1700000000000", "ann")
	wantConnected(t, e, "1700000000000", "ann", map[string]string{"1700000000000": "ann", "bob-id": "bob"}, "before")
	nothingFor(t, bob, grace+grace/2) // past the old socket's grace period
	nothingFor(t, ann2, 0)
	_, e = s.Join(t, "/chat", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"1700000000000": "ann", "bob-id": "bob", "carol-id": "carol"})
	expectPresence(t, bob, "joined", "carol-id", "carol")
	expectPresence(t, ann2, "joined", "carol-id", "carol")
}

// Rule 2: coming back after the grace period is a new entry: joined again.
func TestRejoinAfterGrace(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := chattest.Start(t, server.Config{Grace: grace})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann, "joined", "bob-id", "bob")
	ann.Close()
	expectPresence(t, bob, "disconnected", "ann-id", "ann")
	ann2, e := s.Join(t, "/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	expectPresence(t, bob, "joined", "ann-id", "ann")
	// And leaving again is announced again.
	ann2.Close()
	expectPresence(t, bob, "disconnected", "ann-id", "ann")
}

// Rule 5: messagesList is the newest N messages, oldest first, in every
// messageWritten and in every new connected.
func TestHistoryWindow(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{History: 3})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann, "joined", "bob-id", "bob")
	want := [][]string{
		{"m1"}, {"m1", "m2"}, {"m1", "m2", "m3"}, {"m2", "m3", "m4"}, {"m3", "m4", "m5"},
	}
	for i := 1; i <= 5; i++ {
		ann.Say(fmt.Sprintf("m%d", i))
	}
	for _, c := range []*chattest.Client{ann, bob} {
		for _, w := range want {
			wantTexts(t, expectWritten(t, c), w...)
		}
	}
	_, e := s.Join(t, "/chat", "carol-id", "carol")
	wantConnected(t, e, "carol-id", "carol", map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"},
		"m3", "m4", "m5")
	expectPresence(t, bob, "joined", "carol-id", "carol")
	for _, m := range messagesOf(t, e) {
		if m.Username != "ann" || m.UserID != "ann-id" {
			t.Fatalf("message %+v, want by ann", m)
		}
	}
	// The window is per room.
	dan, e := s.Join(t, "/chat/other", "dan-id", "dan")
	wantConnected(t, e, "dan-id", "dan", map[string]string{"dan-id": "dan"})
	dan.Say("x1")
	wantTexts(t, expectWritten(t, dan), "x1")
	bob.Say("m6")
	wantTexts(t, expectWritten(t, bob), "m4", "m5", "m6")
	_, e = s.Join(t, "/chat", "eve-id", "eve")
	wantTexts(t, messagesOf(t, e), "m4", "m5", "m6")
}

// /chat and /chat/chat are the same room; the query string never matters.
func TestRoomAliases(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, e := s.Join(t, "/chat/chat", "bob-id", "bob")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob"})
	expectPresence(t, ann, "joined", "bob-id", "bob")
	carol, e := s.Join(t, "/chat?room=other", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"})
	expectPresence(t, ann, "joined", "carol-id", "carol")
	expectPresence(t, bob, "joined", "carol-id", "carol")
	bob.Say("from /chat/chat")
	for _, c := range []*chattest.Client{ann, bob, carol} {
		wantTexts(t, expectWritten(t, c), "from /chat/chat")
	}
	ann.Say("from /chat")
	for _, c := range []*chattest.Client{ann, bob, carol} {
		wantTexts(t, expectWritten(t, c), "from /chat/chat", "from /chat")
	}
}

// /chat/other is a room of its own: no event crosses between rooms.
func TestRoomsSeparate(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := chattest.Start(t, server.Config{Grace: grace})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	carol, e := s.Join(t, "/chat/other", "carol-id", "carol")
	wantConnected(t, e, "carol-id", "carol", map[string]string{"carol-id": "carol"})
	bob, e := s.Join(t, "/chat/chat", "bob-id", "bob")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob"})
	expectPresence(t, ann, "joined", "bob-id", "bob")
	dan, e := s.Join(t, "/chat/other", "dan-id", "dan")
	wantUsers(t, e, map[string]string{"carol-id": "carol", "dan-id": "dan"})
	expectPresence(t, carol, "joined", "dan-id", "dan")

	ann.Say("in chat")
	carol.Say("in other")
	for _, c := range []*chattest.Client{ann, bob} {
		wantTexts(t, expectWritten(t, c), "in chat")
	}
	for _, c := range []*chattest.Client{carol, dan} {
		wantTexts(t, expectWritten(t, c), "in other")
	}
	dan.Close()
	expectPresence(t, carol, "disconnected", "dan-id", "dan")
	bob.Close()
	expectPresence(t, ann, "disconnected", "bob-id", "bob")
	nothingFor(t, ann, grace)
	nothingFor(t, carol, 0)
}

// A user id is global, but the user list and the grace period are per
// room: the same id is listed in both rooms, and leaving one room is
// announced there only.
func TestSameIDInTwoRooms(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := chattest.Start(t, server.Config{Grace: grace})
	obs1, _ := s.Join(t, "/chat/r1", "obs1", "olga")
	obs2, _ := s.Join(t, "/chat/r2", "obs2", "oscar")
	ann1, e := s.Join(t, "/chat/r1", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"obs1": "olga", "ann-id": "ann"})
	expectPresence(t, obs1, "joined", "ann-id", "ann")
	// Present in r1 already, ann still enters r2's list.
	ann2, e := s.Join(t, "/chat/r2", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"obs2": "oscar", "ann-id": "ann"})
	expectPresence(t, obs2, "joined", "ann-id", "ann")

	ann1.Close()
	expectPresence(t, obs1, "disconnected", "ann-id", "ann")
	nothingFor(t, obs2, grace)
	nothingFor(t, ann2, 0)
	_, e = s.Join(t, "/chat/r2", "pat-id", "pat")
	wantUsers(t, e, map[string]string{"obs2": "oscar", "ann-id": "ann", "pat-id": "pat"})
	_, e = s.Join(t, "/chat/r1", "quin-id", "quin")
	wantUsers(t, e, map[string]string{"obs1": "olga", "quin-id": "quin"})

	// Leaving r2 too is announced in r2, and not again in r1.
	ann2.Close()
	expectPresence(t, obs2, "joined", "pat-id", "pat")
	expectPresence(t, obs2, "disconnected", "ann-id", "ann")
	expectPresence(t, obs1, "joined", "quin-id", "quin")
	nothingFor(t, obs1, grace)
}
