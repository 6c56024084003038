package main

// End-to-end tests of PROTOCOL.md's v1 rules on presence (rules 1 and 2),
// the history window (rule 5) and rooms. Helpers are in
// protocol_events_test.go.

import (
	"fmt"
	"testing"
	"time"
)

// Rule 1: connectedUserList lists each id once, however many tabs, and
// includes the caller.
func TestUserListEachIDOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	_, e := s.join("/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann"})
	_, e = s.join("/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann"})
	_, e = s.join("/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann"})
	_, e = s.join("/chat", "bob-id", "bob")
	wantConnected(t, e, "bob-id", "bob", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	_, e = s.join("/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	_, e = s.join("/chat", "bob-id", "bob")
	wantConnected(t, e, "bob-id", "bob", map[string]string{"ann-id": "ann", "bob-id": "bob"})
}

// Rule 2: joined goes to every other socket when an id enters, never to the
// socket that connected.
func TestJoinedOnlyToOthers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ann, _ := s.join("/chat", "ann-id", "ann")
	bob, e := s.join("/chat", "bob-id", "bob")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob"})
	ann.expectPresence("joined", "bob-id", "bob")
	carol, _ := s.join("/chat", "carol-id", "carol")
	ann.expectPresence("joined", "carol-id", "carol")
	bob.expectPresence("joined", "carol-id", "carol")
	// The next frame of each is the message, so nobody got a joined for
	// themselves (or one too many).
	carol.write("hi")
	for _, c := range []*client{ann, bob, carol} {
		wantTexts(t, c.expectWritten(), "hi")
	}
}

// Rule 2: a second tab of a present id is not announced.
func TestSecondTabNotJoined(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ann1, _ := s.join("/chat", "ann-id", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann1.expectPresence("joined", "bob-id", "bob")
	_, e := s.join("/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	// A joined for the second tab would be queued before carol's.
	s.join("/chat", "carol-id", "carol")
	bob.expectPresence("joined", "carol-id", "carol")
	ann1.expectPresence("joined", "carol-id", "carol")
}

// Rule 2: closing one of two tabs announces nothing, even after the grace
// period; the user stays listed.
func TestClosingOneOfTwoTabs(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := startServer(t, "-grace", grace.String())
	ann1, _ := s.join("/chat", "ann-id", "ann")
	ann2, _ := s.join("/chat", "ann-id", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann1.expectPresence("joined", "bob-id", "bob")
	ann2.expectPresence("joined", "bob-id", "bob")
	ann2.leave()
	bob.nothingFor(3 * grace)
	ann1.nothingFor(0)
	_, e := s.join("/chat", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"})
	bob.expectPresence("joined", "carol-id", "carol")
	ann1.expectPresence("joined", "carol-id", "carol")
	// The remaining tab still works.
	ann1.write("still here")
	wantTexts(t, bob.expectWritten(), "still here")
}

// Rule 2: closing the last tab announces disconnected to the others once the
// grace period is over, not before; whether the socket closed cleanly or
// just dropped.
func TestDisconnectedAfterGrace(t *testing.T) {
	t.Parallel()
	const grace = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		close func(*client)
	}{
		{"close frame", (*client).leave},
		{"dropped", func(c *client) { c.conn.CloseNow() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, "-grace", grace.String())
			ann, _ := s.join("/chat", "ann-id", "ann")
			bob1, _ := s.join("/chat", "bob-id", "bob")
			bob2, _ := s.join("/chat", "bob-id", "bob")
			ann.expectPresence("joined", "bob-id", "bob")
			start := time.Now()
			tc.close(ann)
			for _, c := range []*client{bob1, bob2} {
				c.expectPresence("disconnected", "ann-id", "ann")
			}
			if took := time.Since(start); took < grace || took > grace+2*time.Second {
				t.Fatalf("disconnected came %v after the close, want between %v and %v", took, grace, grace+2*time.Second)
			}
			// Exactly one disconnected each, and ann has left the list.
			_, e := s.join("/chat", "carol-id", "carol")
			wantUsers(t, e, map[string]string{"bob-id": "bob", "carol-id": "carol"})
			bob1.expectPresence("joined", "carol-id", "carol")
			bob2.expectPresence("joined", "carol-id", "carol")
		})
	}
}

// Rule 2: a user in the grace period is still in the user list.
func TestListedDuringGrace(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-grace", "3s")
	ann, _ := s.join("/chat", "ann-id", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann.expectPresence("joined", "bob-id", "bob")
	ann.leave()
	time.Sleep(200 * time.Millisecond) // let the server see the close
	_, e := s.join("/chat", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"})
	bob.expectPresence("joined", "carol-id", "carol")
}

// Rule 2: a reload inside the grace period (close, then the same id comes
// back) produces neither disconnected nor joined, then or later.
func TestReloadInsideGrace(t *testing.T) {
	t.Parallel()
	const grace = time.Second
	s := startServer(t, "-grace", grace.String())
	ann, _ := s.join("/chat", "1700000000000", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann.expectPresence("joined", "bob-id", "bob")
	ann.write("before")
	wantTexts(t, ann.expectWritten(), "before")
	wantTexts(t, bob.expectWritten(), "before")

	ann.leave()
	ann2, e := s.join("/chat", "1700000000000", "ann")
	wantConnected(t, e, "1700000000000", "ann", map[string]string{"1700000000000": "ann", "bob-id": "bob"}, "before")
	bob.nothingFor(grace + grace/2) // past the old socket's grace period
	ann2.nothingFor(0)
	_, e = s.join("/chat", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"1700000000000": "ann", "bob-id": "bob", "carol-id": "carol"})
	bob.expectPresence("joined", "carol-id", "carol")
	ann2.expectPresence("joined", "carol-id", "carol")
}

// Rule 2: coming back after the grace period is a new entry: joined again.
func TestRejoinAfterGrace(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := startServer(t, "-grace", grace.String())
	ann, _ := s.join("/chat", "ann-id", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann.expectPresence("joined", "bob-id", "bob")
	ann.leave()
	bob.expectPresence("disconnected", "ann-id", "ann")
	ann2, e := s.join("/chat", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"ann-id": "ann", "bob-id": "bob"})
	bob.expectPresence("joined", "ann-id", "ann")
	// And leaving again is announced again.
	ann2.leave()
	bob.expectPresence("disconnected", "ann-id", "ann")
}

// Rule 5: messagesList is the newest N messages, oldest first, in every
// messageWritten and in every new connected.
func TestHistoryWindow(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-history", "3")
	ann, _ := s.join("/chat", "ann-id", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann.expectPresence("joined", "bob-id", "bob")
	want := [][]string{
		{"m1"}, {"m1", "m2"}, {"m1", "m2", "m3"}, {"m2", "m3", "m4"}, {"m3", "m4", "m5"},
	}
	for i := 1; i <= 5; i++ {
		ann.write(fmt.Sprintf("m%d", i))
	}
	for _, c := range []*client{ann, bob} {
		for _, w := range want {
			wantTexts(t, c.expectWritten(), w...)
		}
	}
	_, e := s.join("/chat", "carol-id", "carol")
	wantConnected(t, e, "carol-id", "carol", map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"},
		"m3", "m4", "m5")
	bob.expectPresence("joined", "carol-id", "carol")
	for _, m := range messagesOf(t, e) {
		if m.Username != "ann" || m.UserID != "ann-id" {
			t.Fatalf("message %+v, want by ann", m)
		}
	}
	// The window is per room.
	dan, e := s.join("/chat/other", "dan-id", "dan")
	wantConnected(t, e, "dan-id", "dan", map[string]string{"dan-id": "dan"})
	dan.write("x1")
	wantTexts(t, dan.expectWritten(), "x1")
	bob.write("m6")
	wantTexts(t, bob.expectWritten(), "m4", "m5", "m6")
	_, e = s.join("/chat", "eve-id", "eve")
	wantTexts(t, messagesOf(t, e), "m4", "m5", "m6")
}

// /chat and /chat/chat are the same room; the query string never matters.
func TestRoomAliases(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ann, _ := s.join("/chat", "ann-id", "ann")
	bob, e := s.join("/chat/chat", "bob-id", "bob")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob"})
	ann.expectPresence("joined", "bob-id", "bob")
	carol, e := s.join("/chat?room=other", "carol-id", "carol")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob", "carol-id": "carol"})
	ann.expectPresence("joined", "carol-id", "carol")
	bob.expectPresence("joined", "carol-id", "carol")
	bob.write("from /chat/chat")
	for _, c := range []*client{ann, bob, carol} {
		wantTexts(t, c.expectWritten(), "from /chat/chat")
	}
	ann.write("from /chat")
	for _, c := range []*client{ann, bob, carol} {
		wantTexts(t, c.expectWritten(), "from /chat/chat", "from /chat")
	}
}

// /chat/other is a room of its own: no event crosses between rooms.
func TestRoomsSeparate(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := startServer(t, "-grace", grace.String())
	ann, _ := s.join("/chat", "ann-id", "ann")
	carol, e := s.join("/chat/other", "carol-id", "carol")
	wantConnected(t, e, "carol-id", "carol", map[string]string{"carol-id": "carol"})
	bob, e := s.join("/chat/chat", "bob-id", "bob")
	wantUsers(t, e, map[string]string{"ann-id": "ann", "bob-id": "bob"})
	ann.expectPresence("joined", "bob-id", "bob")
	dan, e := s.join("/chat/other", "dan-id", "dan")
	wantUsers(t, e, map[string]string{"carol-id": "carol", "dan-id": "dan"})
	carol.expectPresence("joined", "dan-id", "dan")

	ann.write("in chat")
	carol.write("in other")
	for _, c := range []*client{ann, bob} {
		wantTexts(t, c.expectWritten(), "in chat")
	}
	for _, c := range []*client{carol, dan} {
		wantTexts(t, c.expectWritten(), "in other")
	}
	dan.leave()
	carol.expectPresence("disconnected", "dan-id", "dan")
	bob.leave()
	ann.expectPresence("disconnected", "bob-id", "bob")
	ann.nothingFor(grace)
	carol.nothingFor(0)
}

// A user id is global, but the user list and the grace period are per
// room: the same id is listed in both rooms, and leaving one room is
// announced there only.
func TestSameIDInTwoRooms(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	s := startServer(t, "-grace", grace.String())
	obs1, _ := s.join("/chat/r1", "obs1", "olga")
	obs2, _ := s.join("/chat/r2", "obs2", "oscar")
	ann1, e := s.join("/chat/r1", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"obs1": "olga", "ann-id": "ann"})
	obs1.expectPresence("joined", "ann-id", "ann")
	// Present in r1 already, ann still enters r2's list.
	ann2, e := s.join("/chat/r2", "ann-id", "ann")
	wantConnected(t, e, "ann-id", "ann", map[string]string{"obs2": "oscar", "ann-id": "ann"})
	obs2.expectPresence("joined", "ann-id", "ann")

	ann1.leave()
	obs1.expectPresence("disconnected", "ann-id", "ann")
	obs2.nothingFor(grace)
	ann2.nothingFor(0)
	_, e = s.join("/chat/r2", "pat-id", "pat")
	wantUsers(t, e, map[string]string{"obs2": "oscar", "ann-id": "ann", "pat-id": "pat"})
	_, e = s.join("/chat/r1", "quin-id", "quin")
	wantUsers(t, e, map[string]string{"obs1": "olga", "quin-id": "quin"})

	// Leaving r2 too is announced in r2, and not again in r1.
	ann2.leave()
	obs2.expectPresence("joined", "pat-id", "pat")
	obs2.expectPresence("disconnected", "ann-id", "ann")
	obs1.expectPresence("joined", "quin-id", "quin")
	obs1.nothingFor(grace)
}
